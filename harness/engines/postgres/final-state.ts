// Reading back a recovered PostgreSQL cluster for the checkers: every ledger row on the primary, a
// content hash per table on the primary and on every replica (once it streams from the primary and
// has caught up), the server's own verification on every surviving node (pg_amcheck over every
// table and B-tree index where the server runs, pg_checksums where it is stopped), the backup
// repository's verification, the archive's continuity, and a probe write into the ledger.

import pg from 'pg';
import type { FinalState, IntegrityRun, RestoreEvidence, TableHashes } from '../../history/final-state.ts';
import { describeError } from '../../errors.ts';
import { waitFor } from '../../wait.ts';
import { archiveEvidence } from './archive.ts';
import { PGDATA, REPO, withClient, type PostgresNodeHandle } from './postgres-node.ts';
import { verifyPgBackRest } from './pgbackrest-verify.ts';
import { REHEARSAL_NODE, RESTORED_NODE } from './start-cluster.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';
import { readPgAmcheck, readPgBackRestVerify, readPgChecksums, readPgVerifyBackup, type Reading } from './verification.ts';
import { replayEnd } from './restore.ts';
import { archiveModeOf, restoresOf } from './restore-evidence.ts';
import { backupToolHooks } from './backup-tools.ts';
import type { PostgresTopology } from './topology.ts';

export interface FinalStateOptions {
  /** The ledger table holding key → value. */
  table: string;
  /** Milliseconds since run start, for the history's clock. */
  now: () => number;
  /** How long replicas may take to stream from the primary and replay its WAL before they are hashed. Default 30 s. */
  catchUpTimeoutMs?: number;
}

/** The key of the probe write: the workload only writes positive keys. */
export const PROBE_KEY = -1;

/** Every row of the ledger table, key → value. */
async function ledgerRowsOf(client: pg.Client, table: string): Promise<Record<string, string>> {
  const rows = await client.query<{ key: string; value: string }>(`SELECT key::text AS key, value FROM ${table}`);
  return Object.fromEntries(rows.rows.map((r) => [r.key, r.value]));
}

/** Every row of the ledger table on a node (read over its mapped port), key → value. */
export function ledgerRows(node: PostgresNodeHandle, table: string): Promise<Record<string, string>> {
  return withClient(node, (client) => ledgerRowsOf(client, table));
}

/** md5 of every row of every table in the public schema, rows sorted by their text form. */
async function tableHashes(client: pg.Client): Promise<TableHashes> {
  const tables = await client.query<{ name: string }>(
    "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  const hashes: TableHashes = {};
  for (const { name } of tables.rows) {
    const result = await client.query<{ hash: string }>(
      `SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS hash FROM ${name} t`,
    );
    hashes[name] = result.rows[0]!.hash;
  }
  return hashes;
}

/**
 * Waits until `replica` streams from `primary` (the primary lists it as streaming, so an orphan
 * still following a retired primary never counts) and has replayed up to `lsn`.
 */
async function waitForCatchUp(primary: PostgresNodeHandle, replica: PostgresNodeHandle, client: pg.Client, lsn: string, timeoutMs: number): Promise<void> {
  await waitFor({ what: `${replica.name} to stream from ${primary.name} and replay its WAL up to ${lsn}`, timeoutMs, intervalMs: 50 }, async (seen) => {
    const state = await primary.replicationState(replica.name);
    const { rows } = await client.query<{ replayed: string | null; done: boolean }>(
      'SELECT pg_last_wal_replay_lsn()::text AS replayed, coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS done',
      [lsn],
    );
    seen(`${primary.name} sees it ${state === 'not connected' ? 'not connected (orphaned?)' : state}; replayed ${rows[0]?.replayed ?? 'nothing'}`);
    return state === 'streaming' && rows[0]?.done ? true : undefined;
  });
}

/** A verification run, with what its tool's result means (verification.ts). */
function run(tool: string, node: string, exitCode: number, output: string, reading: Reading): IntegrityRun {
  return { tool, node, exitCode, output, verdict: reading.verdict, ...(reading.why ? { why: reading.why } : {}) };
}

/** pg_amcheck over every table and every B-tree index (heap against index) of every database. */
async function amcheck(node: PostgresNodeHandle, install: boolean): Promise<IntegrityRun> {
  const command = ['pg_amcheck', '--all', '--heapallindexed', ...(install ? ['--install-missing'] : [])];
  // Bounded: a commit that waits for a synchronous standby that never comes back (installing amcheck
  // is a write) is cancelled with a warning instead of hanging the run.
  const result = await node
    .exec(command, { env: { PGOPTIONS: '-c statement_timeout=120s' } })
    .catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: describeError(error) }));
  const output = `${result.stdout}${result.stderr}`;
  return run('pg_amcheck', node.name, result.exitCode, output, readPgAmcheck(result.exitCode, output));
}

/**
 * pg_checksums --check on a node whose server is stopped. It needs a cleanly shut-down data
 * directory; a crashed one (a fenced primary) first runs crash recovery in single-user mode, which
 * serves nobody, then is checked.
 */
async function checksums(node: PostgresNodeHandle): Promise<IntegrityRun> {
  // An empty node prepared for a runbook that did not use it (it promoted a replica instead) holds no cluster.
  if ((await node.exec(['test', '-e', `${PGDATA}/PG_VERSION`])).exitCode !== 0) {
    return { tool: 'pg_checksums', node: node.name, exitCode: 0, output: '', skipped: 'its data directory holds no cluster (an empty node nothing was restored into)', notApplicable: true };
  }
  const check = () => node.exec(['pg_checksums', '--check', '-D', PGDATA]).catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: describeError(error) }));
  let result = await check();
  let prefix = '';
  if (result.exitCode !== 0 && /must be shut down/.test(result.stderr)) {
    const recovery = await node.exec(['bash', '-c', `rm -f ${PGDATA}/standby.signal ${PGDATA}/recovery.signal; postgres --single -D ${PGDATA} -c archive_mode=off postgres </dev/null`]);
    if (recovery.exitCode !== 0) {
      const said = `${recovery.stderr}${recovery.stdout}`;
      // Recovery stopped by a page that fails its data checksum: that is the checksums finding damage.
      const damage = said.split('\n').filter((l) => /page verification failed|invalid page in block/.test(l));
      if (damage.length > 0) {
        return { tool: 'data checksums (crash recovery)', node: node.name, exitCode: 1, output: `crash recovery in single-user mode stopped at a damaged page: ${damage.join('\n')}`, verdict: 'damaged' };
      }
      return { tool: 'pg_checksums', node: node.name, exitCode: 0, output: '', skipped: `its server was stopped without a clean shutdown, and crash recovery in single-user mode failed: ${said.trim().split('\n').slice(-2).join(' ')}` };
    }
    prefix = 'after crash recovery in single-user mode: ';
    result = await check();
  }
  const output = `${prefix}${result.stdout}${result.stderr}`;
  return run('pg_checksums', node.name, result.exitCode, output, readPgChecksums(result.exitCode, output));
}

/**
 * The verification a surviving node gets, by what it is now: pg_checksums when its server is
 * stopped, pg_amcheck when it runs. Only the primary and the restore rehearsal's scratch node may
 * have amcheck installed; replicas get it by replaying the primary's WAL.
 */
async function verifyNode(node: PostgresNodeHandle, isPrimary: boolean): Promise<IntegrityRun> {
  if (!(await node.serverRunning())) return checksums(node);
  if (isPrimary || node.name === REHEARSAL_NODE) return amcheck(node, true);
  const inRecovery = await node.psql('SELECT pg_is_in_recovery()').catch(() => '');
  if (inRecovery === 't') return amcheck(node, false);
  // Any other node whose server runs out of recovery would be a second primary: not written to.
  return { tool: 'pg_amcheck', node: node.name, exitCode: 0, output: '', skipped: 'its server runs outside the cluster (a former primary that was not fenced); not written to' };
}

/** The backup repository's own verification: pgbackrest verify, or pg_verifybackup on the newest base backup. */
async function verifyBackups(archive: PostgresNodeHandle, topology: PostgresTopology): Promise<IntegrityRun | undefined> {
  const hooks = backupToolHooks(topology);
  if (hooks?.verify) {
    const verified = await hooks.verify(archive, topology).catch((error: unknown) => {
      const output = `${hooks.name}'s check did not run: ${describeError(error)}`;
      return { tool: hooks.name, exitCode: -1, output, reading: { verdict: 'unknown' as const, why: output } };
    });
    if (verified) return run(verified.tool, archive.name, verified.exitCode, verified.output, verified.reading);
  }
  if (topology.postgres.backupTool === 'pgbackrest') {
    const verified = await verifyPgBackRest(archive).catch((error: unknown) => ({ exitCode: -1, output: `pgbackrest verify did not run: ${describeError(error)}` }));
    return run('pgbackrest verify', archive.name, verified.exitCode, verified.output, readPgBackRestVerify(verified.exitCode, verified.output));
  }
  const command = ['bash', '-c', `b=$(ls -1d ${REPO}/base/* 2>/dev/null | sort | tail -n 1); [ -n "$b" ] || exit 100; pg_verifybackup -n "$b"`];
  const result = await archive.exec(command).catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: describeError(error) }));
  if (result.exitCode === 100) return undefined; // no base backup was taken: nothing to verify
  const output = `${result.stdout}${result.stderr}`;
  return run('pg_verifybackup', archive.name, result.exitCode, output, readPgVerifyBackup(result.exitCode, output));
}

/**
 * The probe: a new ledger row on the recovered primary, then read back with sequential scans off,
 * so that the primary-key index serves it. A cluster that takes no write, or whose ledger index
 * cannot find what it just took, has not recovered.
 */
async function probe(primary: PostgresNodeHandle, table: string, now: () => number): Promise<NonNullable<FinalState['probe']>> {
  const started = performance.now();
  const value = `faultline-probe-${Date.now()}`;
  try {
    const read = await withClient(primary, async (client) => {
      await client.query(`INSERT INTO ${table} (key, value) VALUES ($1, $2)`, [PROBE_KEY, value]);
      await client.query('SET enable_seqscan = off; SET enable_bitmapscan = off');
      const plan = await client.query<{ 'QUERY PLAN': Array<{ Plan: { 'Node Type': string } }> }>(`EXPLAIN (FORMAT JSON) SELECT value FROM ${table} WHERE key = $1`, [PROBE_KEY]);
      const nodeType = plan.rows[0]?.['QUERY PLAN'][0]?.Plan['Node Type'] ?? 'unknown';
      if (!/Index/.test(nodeType)) throw new Error(`the read-back did not use the ledger's primary-key index (plan: ${nodeType})`);
      const { rows } = await client.query<{ value: string }>(`SELECT value FROM ${table} WHERE key = $1`, [PROBE_KEY]);
      return rows;
    });
    if (read.length !== 1 || read[0]!.value !== value) throw new Error(`the ledger's index returned ${JSON.stringify(read.map((r) => r.value))} for the probe key ${PROBE_KEY}, not '${value}'`);
    return { ok: true, time: now(), latencyMs: Math.round(performance.now() - started), node: primary.name, key: PROBE_KEY };
  } catch (error) {
    return { ok: false, time: now(), latencyMs: Math.round(performance.now() - started), node: primary.name, key: PROBE_KEY, error: describeError(error) };
  }
}

export async function readFinalState(cluster: StartedPostgresCluster, options: FinalStateOptions): Promise<FinalState> {
  const primary = cluster.primary();
  const final: FinalState = { time: options.now(), primary: { node: primary.name }, replicas: [], integrity: [], probe: null };
  const others = cluster.nodes.filter((n) => n !== primary && !n.lost && n.spec.role !== 'archive' && n.role !== 'replica');
  const archive = cluster.archive();
  if (primary.lost) {
    // Its volume was destroyed: the cluster holds none of the data any more. That is a final
    // state (empty), not an unknown one.
    final.primary = { node: primary.name, rows: {}, tables: {}, error: `${primary.name} was lost with its volume; no node holds the data` };
    for (const node of others) final.integrity.push(await verifyNode(node, false));
    if (archive) final.archive = { node: archive.name, error: `no primary: ${primary.name} was lost and recovery did not replace it` };
    final.probe = { ok: false, time: options.now(), latencyMs: 0, node: primary.name, error: `no primary: ${primary.name} was lost and recovery did not replace it` };
    const restores = restoresOf(cluster);
    if (restores.length > 0) final.restores = restores;
    return final;
  }
  // Nodes outside the primary's stream (a rehearsal's scratch node, a fenced former primary) and
  // the backup repository are verified while the primary and its replicas are read: each is its
  // own node, and none of them depends on the others. Results keep their order. Settled, so that a
  // failure is not left unhandled while the primary is read: it is thrown in its turn, as before.
  const othersVerified = Promise.allSettled(others.map((node) => verifyNode(node, false)));
  const backupsVerified = Promise.allSettled([archive && !archive.lost ? verifyBackups(archive, cluster.topology) : undefined]);
  try {
    await withClient(primary, async (client) => {
      final.primary!.rows = await ledgerRowsOf(client, options.table);
      final.primary!.tables = await tableHashes(client);
    });
  } catch (error) {
    final.primary!.error = describeError(error);
  }
  // First on the primary, which installs amcheck where it is missing; replicas get it by replaying.
  final.integrity.push(await verifyNode(primary, true));
  const lsn = await primary.psql('SELECT pg_current_wal_lsn()').catch(() => undefined);

  for (const replica of cluster.replicas()) {
    try {
      const tables = await withClient(replica, async (client) => {
        if (!lsn) throw new Error(`the primary ${primary.name} did not say where its WAL ends`);
        await waitForCatchUp(primary, replica, client, lsn, options.catchUpTimeoutMs ?? 30_000);
        return tableHashes(client);
      });
      final.replicas.push({ node: replica.name, tables });
    } catch (error) {
      final.replicas.push({ node: replica.name, error: describeError(error) });
    }
    final.integrity.push(await verifyNode(replica, false));
  }
  for (const verified of [...(await othersVerified), ...(await backupsVerified)]) {
    if (verified.status === 'rejected') throw verified.reason;
    if (verified.value) final.integrity.push(verified.value);
  }
  // After the primary's reads and writes (amcheck's installation): the archive is judged through
  // the end of the run.
  const evidence = await archiveEvidence(cluster);
  if (evidence) final.archive = evidence;

  const restores = await restoreEvidence(cluster, primary);
  if (restores.length > 0) final.restores = restores;

  // Last, so that it changes nothing the reads above saw.
  final.probe = await probe(primary, options.table, options.now);
  return final;
}

/**
 * The run's restores from the repository: faultline's own, as they recorded themselves, and the
 * user's runbook's when the primary it named is the empty node it was given (so it was restored
 * from the repository): where its replay ended, and how WAL reached the archive it restored from.
 */
async function restoreEvidence(cluster: StartedPostgresCluster, primary: PostgresNodeHandle): Promise<RestoreEvidence[]> {
  const restores = restoresOf(cluster);
  if (primary.name !== RESTORED_NODE || restores.some((r) => r.node === primary.name)) return restores;
  const ended = await replayEnd(primary).catch(() => undefined);
  return [...restores, { node: primary.name, by: 'runbook', ...(ended ? { reachedLsn: ended.lsn } : {}), ...archiveModeOf(cluster) }];
}
