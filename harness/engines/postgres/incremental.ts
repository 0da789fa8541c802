// Incremental backups (backupTool 'pg_basebackup-incremental', PostgreSQL 17 and later): the fresh
// full pg_basebackup starts a chain, incrementals against the previous backup's manifest follow at
// the topology's times and after a failover (from the new primary), and a restore combines the chain
// found in the repository with pg_combinebackup, naming what the run took that is no longer there.

import { ClusterError, describeError } from '../../errors.ts';
import { sleep } from '../../wait.ts';
import { BASE, REPO, type PostgresNodeHandle } from './postgres-node.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';

/** Where a restore combines the chain's backups (`BASE/<time>-full`, `BASE/<time>-incr`). */
export const COMBINED = `${REPO}/combined`;

export interface ChainBackup {
  dir: string;
  kind: 'full' | 'incremental';
  /** The node it was taken from, and when. */
  from: string;
  at: string;
}

interface Chain {
  backups: ChainBackup[];
  /** What happened besides (an incremental refused, skipped), in order. */
  notes: string[];
  /** A restore read the chain: nothing is added to it any more. */
  closed: boolean;
  /** An incremental under way, which a restore waits for. */
  queue: Promise<void>;
}
const chains = new WeakMap<StartedPostgresCluster, Chain>();

/** Every backup of the run's current chain, and what else happened to it. */
export function chainOf(cluster: StartedPostgresCluster): { backups: readonly ChainBackup[]; notes: readonly string[] } {
  const chain = chains.get(cluster);
  return { backups: chain?.backups ?? [], notes: chain?.notes ?? [] };
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
}

/** One pg_basebackup into the repository, checked by pg_verifybackup; a failed one leaves nothing behind. */
async function backup(archive: PostgresNodeHandle, primary: PostgresNodeHandle, kind: ChainBackup['kind'], previous?: ChainBackup): Promise<ChainBackup> {
  const dir = `${BASE}/${stamp()}-${kind === 'full' ? 'full' : 'incr'}`;
  const incremental = previous ? ` --incremental=${previous.dir}/backup_manifest` : '';
  const taken = await archive.exec(['bash', '-c', `mkdir -p ${BASE} && pg_basebackup -h ${primary.name} -U postgres -D ${dir}${incremental} -X stream -c fast --no-sync && fl-sync ${BASE}`]);
  if (taken.exitCode !== 0) {
    await archive.exec(['rm', '-rf', dir], { user: 'root' });
    throw new ClusterError(`pg_basebackup${incremental} of ${primary.name} failed (exit ${taken.exitCode}): ${(taken.stderr || taken.stdout).trim()}`);
  }
  const verified = await archive.exec(['pg_verifybackup', '-n', dir]);
  if (verified.exitCode !== 0) throw new ClusterError(`the new ${kind} backup ${dir} does not verify: ${verified.stderr.trim() || verified.stdout.trim()}`);
  return { dir, kind, from: primary.name, at: new Date().toISOString() };
}

const describeBackup = (b: ChainBackup) => `${b.kind} ${b.dir} (of ${b.from})`;

/**
 * The fresh full backup starts a new chain, and its incrementals follow at the topology's times
 * after it; it returns once the last of them is taken, so that the change the drill makes (which
 * waits for the fresh backup) finds the whole chain in the repository.
 */
export async function takeFullBackup(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<string> {
  await closeChain(cluster);
  const full = await backup(archive, cluster.primary(), 'full');
  const chain: Chain = { backups: [full], notes: [], closed: false, queue: Promise.resolve() };
  chains.set(cluster, chain);
  const ended = performance.now();
  for (const ms of cluster.topology.postgres.incremental?.afterMs ?? []) {
    await sleep(ended + ms - performance.now());
    chain.queue = takeIncremental(cluster, chain);
    await chain.queue;
  }
  const notes = chain.notes.length > 0 ? `; ${chain.notes.join('; ')}` : '';
  return `backup chain in ${archive.name}: ${chain.backups.map(describeBackup).join(' + ')}, each verified by pg_verifybackup${notes}`;
}

/**
 * After a failover, the chain goes on from the new primary: an incremental against the chain's
 * newest backup (as a backup schedule would take next). What happened is returned for the record.
 */
export async function continueChain(cluster: StartedPostgresCluster): Promise<string> {
  const chain = chains.get(cluster);
  if (!chain || chain.closed) return '';
  const before = chain.backups.length;
  const notes = chain.notes.length;
  chain.queue = takeIncremental(cluster, chain);
  await chain.queue;
  const added = chain.backups.length > before ? `; the backup chain goes on from ${cluster.primary().name}: ${describeBackup(chain.backups.at(-1)!)}` : '';
  const said = chain.notes.slice(notes);
  return `${added}${said.length > 0 ? `; ${said.join('; ')}` : ''}`;
}

/** An incremental of the current primary against the chain's newest backup; refused, a new full backup starts a new chain. */
async function takeIncremental(cluster: StartedPostgresCluster, chain: Chain): Promise<void> {
  if (chain.closed) return;
  const archive = cluster.archive();
  const primary = cluster.primary();
  if (!archive || archive.lost) return void chain.notes.push(`an incremental was skipped at ${new Date().toISOString()}: the repository node is lost`);
  if (primary.lost) return void chain.notes.push(`an incremental was skipped at ${new Date().toISOString()}: the primary ${primary.name} is lost`);
  const previous = chain.backups.at(-1)!;
  try {
    chain.backups.push(await backup(archive, primary, 'incremental', previous));
  } catch (error) {
    chain.notes.push(`an incremental of ${primary.name} on top of ${previous.dir} was refused: ${describeError(error)}`);
    try {
      const full = await backup(archive, primary, 'full');
      chain.backups = [full];
      chain.notes.push(`a new full backup ${full.dir} of ${primary.name} was taken instead, starting a new chain`);
    } catch (again) {
      chain.notes.push(`a new full backup of ${primary.name} failed too: ${describeError(again)}`);
    }
  }
}

/** Closes the chain (a restore reads it now: nothing more is added) once an incremental under way has ended. */
export async function closeChain(cluster: StartedPostgresCluster): Promise<void> {
  const chain = chains.get(cluster);
  if (!chain) return;
  chain.closed = true;
  await chain.queue;
}

/** The chain as the repository holds it (its newest full backup, then the incrementals after it), combined into COMBINED/<label>. */
export interface Combined {
  label: string;
  /** How the chain reads, for the restore's detail. */
  description: string;
}

/**
 * Combines the newest chain in the repository with pg_combinebackup into COMBINED/<label>
 * (label '' when the repository holds no full backup). Fails with pg_combinebackup's own words, and
 * names each backup this run took into the chain that is no longer in the repository.
 */
export async function combineChain(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<Combined> {
  await closeChain(cluster);
  const names = (await archive.exec(['bash', '-c', `ls -1 ${BASE} 2>/dev/null | LC_ALL=C sort`])).stdout.split('\n').filter(Boolean);
  const full = names.filter((n) => n.endsWith('-full')).at(-1);
  if (!full) return { label: '', description: '' };
  const members = [full, ...names.filter((n) => n.endsWith('-incr') && n > full)];
  const { backups, notes } = chainOf(cluster);
  const gone = backups.filter((b) => !names.includes(b.dir.slice(BASE.length + 1)));
  const missing = gone.map((b) => `${b.kind} backup ${b.dir} (taken from ${b.from} at ${b.at}) is no longer in the repository on ${archive.name}`);
  const label = `${members.at(-1)}-combined`;
  const list = members.map((m) => `${BASE}/${m}`);
  const combined = await archive.exec(['bash', '-c', `rm -rf ${COMBINED} && mkdir -p ${COMBINED} && pg_combinebackup --no-sync -o ${COMBINED}/${label} ${list.join(' ')}`]);
  const events = notes.length > 0 ? `; ${notes.join('; ')}` : '';
  if (combined.exitCode !== 0) {
    await archive.exec(['rm', '-rf', COMBINED], { user: 'root' });
    const words = (combined.stderr || combined.stdout).trim().split('\n').filter((l) => /error|fatal/i.test(l)).join('; ') || (combined.stderr || combined.stdout).trim();
    throw new ClusterError(
      `pg_combinebackup could not combine the backup chain on ${archive.name} (${list.join(', ')}): ${words}${missing.length > 0 ? `; ${missing.join('; ')}` : ''}${events}`,
    );
  }
  const named = members.map((m) => {
    const taken = backups.find((b) => b.dir === `${BASE}/${m}`);
    return `${BASE}/${m}${taken ? ` (of ${taken.from})` : ''}`;
  });
  const chain = members.length === 1 ? `full backup ${named[0]} (no incremental on top of it)` : `the chain ${named.join(' + ')} combined by pg_combinebackup`;
  const warning = missing.length > 0 ? `; note: ${missing.join('; ')}` : '';
  return { label, description: `${chain}${warning}${events}` };
}
