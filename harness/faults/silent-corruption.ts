import { PGDATA } from '../cluster/postgres/postgres-node.ts';
import type { PostgresNodeHandle } from '../cluster/postgres/postgres-node.ts';
import { describeError } from '../errors.ts';
import type { Random } from '../random.ts';
import { asRoot, overwriteScript, targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

const BLOCK = 8192;

interface Target {
  file: string;
  offsets: number[];
}

async function heapOrIndex(node: PostgresNodeHandle, relation: string, count: number, bytes: number, random: Random, skipFirst: boolean): Promise<Target> {
  // Dirty pages reach disk first, so that what is overwritten is what the server will read back.
  await node.psql('CHECKPOINT');
  const file = `${PGDATA}/${await node.psql(`SELECT pg_relation_filepath('${relation}')`)}`;
  const size = Number((await node.run(['stat', '-c', '%s', file])).stdout.trim());
  const first = skipFirst ? 1 : 0;
  // Leave the last two blocks alone: the workload is still filling them, and a fresh write would
  // cover the damage before anyone could read it.
  const last = Math.floor(size / BLOCK) - 2;
  if (last <= first) throw new Error(`${relation} on ${node.name} has only ${Math.floor(size / BLOCK)} blocks: nothing old enough to corrupt yet`);
  const blocks = new Set<number>();
  while (blocks.size < Math.min(count, last - first)) blocks.add(first + Math.floor(random() * (last - first)));
  const offsets = [...blocks].sort((a, b) => a - b).map((block) => block * BLOCK + 64 + Math.floor(random() * (BLOCK - 64 - bytes)));
  return { file, offsets };
}

async function wal(node: PostgresNodeHandle, count: number, bytes: number, random: Random): Promise<Target> {
  const row = await node.psql("SELECT file_name || ' ' || file_offset FROM pg_walfile_name_offset(pg_current_wal_flush_lsn())");
  const [name, end] = row.split(' ') as [string, string];
  const from = Math.max(0, Number(end) - 256 * 1024);
  if (Number(end) - from < bytes * 2) throw new Error(`the current WAL segment on ${node.name} holds too little to corrupt yet`);
  const offsets = Array.from({ length: count }, () => from + Math.floor(random() * (Number(end) - from - bytes))).sort((a, b) => a - b);
  return { file: `${PGDATA}/pg_wal/${name}`, offsets };
}

/**
 * silent-corruption: overwrites bytes, seeded, in one kind of file of the node's data directory,
 * behind the server's back: table heap or index blocks (after a checkpoint, in blocks the workload
 * no longer writes), recent WAL, or pg_control. Then, by default, the server is restarted without
 * a shutdown checkpoint so that it reads the damage back from disk, as it would after any restart
 * or cache eviction. Nothing heals it.
 */
export const silentCorruption: Fault = {
  name: 'silent-corruption',
  description: 'Overwrite bytes in table, index, WAL or pg_control files behind the server’s back',
  mirrors: 'bad firmware or mis-mapped blocks write garbage',
  targets: ['node'],
  disruptive: false,
  healable: false,
  params: {
    kind: { description: 'which files', kind: 'choice', choices: ['heap', 'index', 'wal', 'pg_control'], default: 'heap' },
    blocks: { description: 'how many places to damage', kind: 'number', default: 3 },
    bytes: { description: 'bytes overwritten at each place', kind: 'number', default: 32 },
    evict: { description: "'restart' the server so it reads from disk, or 'none'", kind: 'choice', choices: ['restart', 'none'], default: 'restart' },
    table: { description: 'the table for heap and index', kind: 'choice', choices: ['faultline_ledger'], default: 'faultline_ledger' },
  },
  async inject({ random }, target, params) {
    const node = targetNode(target);
    const kind = String(params.kind ?? 'heap');
    const count = Number(params.blocks ?? 3);
    const bytes = Number(params.bytes ?? 32);
    const table = String(params.table ?? 'faultline_ledger');
    let place: Target;
    if (kind === 'heap') place = await heapOrIndex(node, table, count, bytes, random, false);
    else if (kind === 'index') place = await heapOrIndex(node, `${table}_pkey`, count, bytes, random, true);
    else if (kind === 'wal') place = await wal(node, count, bytes, random);
    else place = { file: `${PGDATA}/global/pg_control`, offsets: [8 + Math.floor(random() * 200)] };

    await asRoot(node, ['bash', '-c', overwriteScript(place.file, place.offsets, bytes, random)]);
    let detail = `overwrote ${bytes} bytes at ${place.offsets.length} place(s) of ${place.file} on ${node.name} (offsets ${place.offsets.join(', ')})`;
    if (String(params.evict ?? 'restart') === 'restart') {
      await node.exec(['fl-pg', 'stop', 'immediate']);
      const started = await node.exec(['fl-pg', 'start']);
      detail += started.exitCode === 0 ? '; server restarted' : `; server does not start again: ${describeError(started.stderr.trim().split('\n').slice(-3).join(' '))}`;
    }
    return { detail };
  },
};
