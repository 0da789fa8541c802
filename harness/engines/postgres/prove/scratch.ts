// The scratch node a user's backup is restored into: an empty volume of its own, the user's paths
// mounted read-only (proved so from inside), running as the user that owns those files, and a
// PostgreSQL that listens on no network address and is reached only through its local socket.

import { isolate, readOnlyMounts } from '../../../cluster/scratch-node.ts';
import { statSync } from 'node:fs';
import type { InspectedBackup, ProveContext } from '../../../cluster/prove-ability.ts';
import { PGDATA, PostgresNodeHandle, VOLUME_MOUNT } from '../postgres-node.ts';

export const PROVE_NODE = 'pg-prove';
/** The local socket's folder: the scratch server listens on nothing else. */
export const SOCKET_DIR = '/run/postgresql';
export const SERVER_LOG = '/var/log/faultline/postgresql.log';

/** The scratch node, and the role its checks connect as. */
export interface ScratchNode {
  node: PostgresNodeHandle;
  /** The database role to connect as (local trust). */
  role: string;
  /** Runs SQL through psql on the local socket as `role`; resolves to its record (never throws for SQL errors). */
  sql(query: string, options?: { database?: string; csv?: boolean; input?: boolean }): Promise<{ ok: boolean; out: string; err: string }>;
}

/**
 * Starts the scratch node with the backup's paths bound read-only, and checks from inside that
 * each is mounted read-only: a proof must never be able to write into the user's backups.
 */
export async function startScratch(backup: InspectedBackup, image: string, context: ProveContext): Promise<{ scratch: ScratchNode; mounts: Array<{ target: string; flags: string }>; notes: string[] }> {
  const started = await context.run.startNode({
    name: PROVE_NODE,
    image,
    exposedPorts: [],
    isolated: true,
    luns: [{ name: 'data', domain: context.domain, mountPoint: VOLUME_MOUNT, bytes: backup.bytes, owner: 'postgres:postgres' }],
    binds: backup.paths.map((p) => ({ source: p.source, target: p.target, readOnly: true })),
  });
  const spec = { name: PROVE_NODE, role: 'primary' as const, domain: context.domain, volumeBytes: backup.bytes, synchronous: false, settings: [] };
  const node = new PostgresNodeHandle(started, spec, '');
  node.role = 'retired'; // it serves nobody
  const mounts = await readOnlyMounts(node, backup.paths);
  const notes = await runAsOwner(node, backup);
  notes.push(await isolate(node, backup.reach));
  const role = context.dbUser ?? 'postgres';
  const sql: ScratchNode['sql'] = async (query, options = {}) => {
    const args = ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', SOCKET_DIR, '-U', role, '-d', options.database ?? 'postgres', ...(options.csv ? ['--csv', '-t'] : ['-A', '-t'])];
    // The user's own text goes in on standard input (a file in the node), never through a shell.
    const record = options.input
      ? await node.exec(['bash', '-c', 'f=$(mktemp) && cat > "$f" <<< "$FL_SQL" && "$@" -f "$f"; rc=$?; rm -f "$f"; exit $rc', 'sql', ...args], { env: { FL_SQL: query }, timeoutMs: 30 * 60_000 })
      : await node.exec([...args, '-c', query], { timeoutMs: 30 * 60_000 });
    // CSV is kept as printed: a lone empty line is a row holding null, no line at all is no row.
    return { ok: record.exitCode === 0, out: options.csv ? record.stdout : record.stdout.trim(), err: record.stderr.trim() };
  };
  return { scratch: { node, role, sql }, mounts, notes };
}

/**
 * The user's files are read as the user that owns them: the node's `postgres` takes that user's
 * numeric id (as the restore would run on the backup host), so that a repository or archive readable
 * only by its owner can be read, and restore_command can fetch WAL during replay.
 */
async function runAsOwner(node: PostgresNodeHandle, backup: InspectedBackup): Promise<string[]> {
  const mounted = backup.paths.at(-1);
  if (!mounted) return []; // nothing of the user's on this machine (an S3 repository)
  const owner = statSync(mounted.source);
  const current = Number((await node.run(['id', '-u', 'postgres'], { user: 'root' })).stdout.trim());
  // Files of root's are read as root lets everyone read them (a restore_command that cannot is a finding).
  if (owner.uid === 0 || owner.uid === current) return [];
  await node.run(
    ['bash', '-c', `set -e; old=$(id -u postgres); groupmod -o -g ${owner.gid} postgres; usermod -o -u ${owner.uid} postgres; find / -xdev \\( -path /proc -o -path ${VOLUME_MOUNT} \\) -prune -o -uid "$old" -print0 | xargs -0 -r chown -h postgres:postgres; chown postgres:postgres ${VOLUME_MOUNT}`],
    { user: 'root' },
  );
  return [`the server runs as uid ${owner.uid} (the owner of ${mounted.source}), so that it reads the backups as their owner does`];
}

/** PGDATA made the server's: owned by postgres, mode 0700. */
export async function ownData(node: PostgresNodeHandle): Promise<void> {
  await node.run(['bash', '-c', `chown -R postgres:postgres ${PGDATA} && chmod 0700 ${PGDATA}`], { user: 'root' });
}
