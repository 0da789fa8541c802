// Reading back a recovered PostgreSQL cluster for the checkers: every ledger row on the primary, a
// content hash per table on the primary and each surviving replica (once it has caught up), the
// server's own verification (pg_amcheck), and a probe write that shows the cluster accepts writes.

import pg from 'pg';
import type { FinalState, TableHashes } from '../../history/final-state.ts';
import { describeError } from '../../errors.ts';
import { REPO, withClient, type PostgresNodeHandle } from './postgres-node.ts';
import { verifyPgBackRest } from './pgbackrest-verify.ts';

export interface FinalStateOptions {
  /** The ledger table holding key → value. */
  table: string;
  /** Milliseconds since run start, for the history's clock. */
  now: () => number;
  /** How long replicas may take to replay the primary's WAL before they are hashed. Default 30 s. */
  catchUpTimeoutMs?: number;
  /** The backup repository node, whose backups are verified too. */
  archive?: PostgresNodeHandle;
  backupTool?: 'pg_receivewal' | 'pgbackrest';
}

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

async function waitForReplay(replica: pg.Client, lsn: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await replica.query<{ done: boolean }>(
      'SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, true) AS done',
      [lsn],
    );
    if (rows[0]?.done) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`did not replay the primary's WAL up to ${lsn} within ${timeoutMs} ms`);
}

/** The backup repository's own verification: pgbackrest verify, or pg_verifybackup on the newest base backup. */
async function verifyBackups(archive: PostgresNodeHandle, tool: 'pg_receivewal' | 'pgbackrest'): Promise<FinalState['integrity'][number] | undefined> {
  if (tool === 'pgbackrest') {
    const verified = await verifyPgBackRest(archive).catch((error: unknown) => ({ exitCode: -1, output: describeError(error) }));
    return { tool: 'pgbackrest verify', node: archive.name, ...verified };
  }
  const command = ['bash', '-c', `b=$(ls -1d ${REPO}/base/* 2>/dev/null | sort | tail -n 1); [ -n "$b" ] || exit 100; pg_verifybackup -n "$b"`];
  const result = await archive.exec(command).catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: describeError(error) }));
  if (result.exitCode === 100) return undefined; // no base backup was taken: nothing to verify
  return { tool: 'pg_verifybackup', node: archive.name, exitCode: result.exitCode, output: `${result.stdout}${result.stderr}` };
}

export async function readFinalState(
  primary: PostgresNodeHandle,
  replicas: PostgresNodeHandle[],
  options: FinalStateOptions,
): Promise<FinalState> {
  const final: FinalState = { time: options.now(), primary: { node: primary.name }, replicas: [], integrity: [], probe: null };
  if (primary.lost) {
    // Its volume was destroyed: the cluster holds none of the data any more. That is a final
    // state (empty), not an unknown one.
    final.primary = { node: primary.name, rows: {}, tables: {}, error: `${primary.name} was lost with its volume; no node holds the data` };
    final.probe = { ok: false, time: options.now(), latencyMs: 0, node: primary.name, error: `no primary: ${primary.name} was lost and recovery did not replace it` };
    return final;
  }
  let lsn: string | undefined;
  try {
    await withClient(primary, async (client) => {
      final.primary!.rows = await ledgerRowsOf(client, options.table);
      final.primary!.tables = await tableHashes(client);
      lsn = (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
    });
  } catch (error) {
    final.primary!.error = describeError(error);
  }

  for (const replica of replicas) {
    try {
      final.replicas.push({
        node: replica.name,
        tables: await withClient(replica, async (client) => {
          if (lsn) await waitForReplay(client, lsn, options.catchUpTimeoutMs ?? 30_000);
          return tableHashes(client);
        }),
      });
    } catch (error) {
      final.replicas.push({ node: replica.name, error: describeError(error) });
    }
  }

  const amcheck = await primary
    .exec(['pg_amcheck', '--all', '--install-missing', '--heapallindexed', '--no-dependent-indexes'])
    .catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: describeError(error) }));
  final.integrity.push({ tool: 'pg_amcheck', node: primary.name, exitCode: amcheck.exitCode, output: `${amcheck.stdout}${amcheck.stderr}` });
  if (options.archive && !options.archive.lost) {
    const backups = await verifyBackups(options.archive, options.backupTool ?? 'pg_receivewal');
    if (backups) final.integrity.push(backups);
  }

  // Last, so that it changes nothing the hashes above saw.
  const started = performance.now();
  try {
    await withClient(primary, async (client) => {
      await client.query('CREATE TABLE IF NOT EXISTS faultline_probe (at timestamptz NOT NULL DEFAULT now())');
      await client.query('INSERT INTO faultline_probe DEFAULT VALUES');
    });
    final.probe = { ok: true, time: options.now(), latencyMs: Math.round(performance.now() - started), node: primary.name };
  } catch (error) {
    final.probe = { ok: false, time: options.now(), latencyMs: Math.round(performance.now() - started), node: primary.name, error: describeError(error) };
  }
  return final;
}
