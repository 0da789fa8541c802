// Reading back a recovered Redis cluster for the checkers: every ledger key and every entry of the
// appended list on the primary (and the list's order), a content hash of both on the primary and on
// every replica once it is in sync, the server's own verification (redis-check-aof and
// redis-check-rdb on every node's files, and on the backup node's copies), and a probe write.

import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { FinalState, IntegrityRun, IntegrityVerdict, TableHashes } from '../../history/final-state.ts';
import { describeError } from '../../errors.ts';
import { REDIS_KEY_PREFIX, REDIS_LOG_KEY } from './client.ts';
import { withRedis, type RedisNodeHandle } from './redis-node.ts';
import { waitForSync, type StartedRedisCluster } from './start-cluster.ts';

/** The key of the probe write: the workload only writes positive keys. */
export const PROBE_KEY = -1;

export interface Ledger {
  rows: Record<string, string>;
  /** Keys of the appended entries, in list order. */
  sequence: number[];
  tables: TableHashes;
}

/** Every ledger key (SET) and list entry (RPUSH `key:value`) the server holds. */
export async function readLedger(client: Redis): Promise<Ledger> {
  const rows: Record<string, string> = {};
  // SCAN may return a key more than once (while the table is rehashed): keep each once.
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${REDIS_KEY_PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) seen.add(key);
  } while (cursor !== '0');
  const keys = [...seen];
  for (let i = 0; i < keys.length; i += 1000) {
    const slice = keys.slice(i, i + 1000);
    const values = await client.mget(...slice);
    slice.forEach((k, j) => {
      const value = values[j];
      if (value !== null && value !== undefined) rows[k.slice(REDIS_KEY_PREFIX.length)] = value;
    });
  }
  const entries = await client.lrange(REDIS_LOG_KEY, 0, -1);
  const sequence: number[] = [];
  for (const entry of entries) {
    const at = entry.indexOf(':');
    const key = entry.slice(0, at);
    sequence.push(Number(key));
    // A key appended twice keeps its first value here; the order check reports the duplicate.
    if (!(key in rows)) rows[key] = entry.slice(at + 1);
  }
  const keyLines = keys.map((k) => `${k}=${rows[k.slice(REDIS_KEY_PREFIX.length)] ?? ''}`).sort();
  const tables = {
    keys: createHash('md5').update(keyLines.join('\n')).digest('hex'),
    [REDIS_LOG_KEY]: createHash('md5').update(entries.join('\n')).digest('hex'),
  };
  return { rows, sequence, tables };
}

/**
 * What `fl-redis check` says (redis-check-aof and redis-check-rdb on the node's files; it exits 1
 * when either does): damage in their words (an AOF "is not valid", "RDB ERROR DETECTED", a bad
 * format), else their own failure to tell.
 */
export function readRedisCheck(exitCode: number, output: string): { verdict: IntegrityVerdict; why?: string } {
  if (exitCode === 0) return { verdict: 'ok' };
  const damage = /is not valid|ERROR DETECTED|Bad file format|Expected prefix|Unexpected EOF|truncated|checksum|invalid|corrupt/i;
  if (exitCode > 0 && damage.test(output)) return { verdict: 'damaged' };
  const lines = output.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  return { verdict: 'unknown', why: exitCode < 0 ? `the check did not run: ${lines[0] ?? 'no output'}` : (lines.at(-1) ?? 'no output') };
}

/** The persistence a node is configured with, in redis.conf's words, or undefined when it has none (AOF off, no save points). */
async function persistenceOf(node: RedisNodeHandle, cluster: StartedRedisCluster): Promise<string | undefined> {
  let appendonly = cluster.topology.redis.appendonly ? 'yes' : 'no';
  let save = cluster.topology.redis.save;
  // The running server's own answer wins (the user's settings, or CONFIG SET after a restore).
  try {
    appendonly = (await node.cli('CONFIG', 'GET', 'appendonly')).split('\n')[1]?.trim() ?? appendonly;
    save = (await node.cli('CONFIG', 'GET', 'save')).split('\n')[1]?.trim() ?? save;
  } catch {
    // not running: as configured
  }
  const parts = [...(appendonly === 'yes' ? ['appendonly yes'] : []), ...(save.trim() ? [`save "${save.trim()}"`] : [])];
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/**
 * The server's own checks of a node's files: redis-check-aof, redis-check-rdb. A node with no file
 * to check is no pass: skipped, with the reason, when its persistence is off (nothing is meant to
 * be on disk; lost-writes judges what that costs), else unknown (it should hold a file and does
 * not, e.g. no save point was reached yet).
 */
async function verifyNode(node: RedisNodeHandle, cluster: StartedRedisCluster): Promise<IntegrityRun> {
  const tool = `${node.server}-check-aof, ${node.server}-check-rdb`;
  if (node.lost) return { tool, node: node.name, exitCode: -1, output: '', skipped: `${node.name} was lost with its volume` };
  const result = await node.exec(['fl-redis', 'check']).catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: describeError(error) }));
  const output = `${result.stdout}${result.stderr}`.trim().slice(-4000);
  if (result.exitCode === 0 && /no AOF or RDB file on/.test(output)) {
    if (!node.runsServer) return { tool, node: node.name, exitCode: 0, output, verdict: 'unknown', why: `the backup node ${node.name} holds no RDB copy to verify` };
    const persistence = await persistenceOf(node, cluster);
    if (!persistence) return { tool, node: node.name, exitCode: 0, output, skipped: 'its persistence is off (appendonly no, save ""): no AOF or RDB file is meant to exist', notApplicable: true };
    return { tool, node: node.name, exitCode: 0, output, verdict: 'unknown', why: `it is configured to persist (${persistence}) but holds no AOF or RDB file to verify` };
  }
  const reading = readRedisCheck(result.exitCode, output);
  return { tool, node: node.name, exitCode: result.exitCode, output, verdict: reading.verdict, ...(reading.why ? { why: reading.why } : {}) };
}

export async function readRedisFinalState(cluster: StartedRedisCluster, { now, catchUpTimeoutMs = 30_000 }: { now: () => number; catchUpTimeoutMs?: number }): Promise<FinalState> {
  const primary = cluster.primary();
  const final: FinalState = { time: now(), primary: { node: primary.name }, replicas: [], integrity: [], probe: null };
  // A lost node's address (its mapped port, its IP on the run's network) may already belong to
  // another server: it is never asked, only said to be gone.
  const gone = primary.lost ? `${primary.name} was lost with its volume, and recovery did not replace it` : undefined;
  try {
    if (gone) throw new Error(gone);
    const ledger = await withRedis(primary, readLedger);
    final.primary = { node: primary.name, rows: ledger.rows, sequence: ledger.sequence, tables: ledger.tables };
  } catch (error) {
    final.primary = { node: primary.name, error: describeError(error) };
  }
  if (!primary.lost) final.integrity.push(await verifyNode(primary, cluster));
  for (const replica of cluster.replicas()) {
    try {
      await waitForSync(primary, [replica], catchUpTimeoutMs);
      const ledger = await withRedis(replica, readLedger);
      final.replicas.push({ node: replica.name, tables: ledger.tables });
    } catch (error) {
      final.replicas.push({ node: replica.name, error: describeError(error) });
    }
    final.integrity.push(await verifyNode(replica, cluster));
  }
  const backup = cluster.archive();
  if (backup && !backup.lost) final.integrity.push(await verifyNode(backup, cluster));

  // Last, so that it changes nothing the reads above saw.
  const started = performance.now();
  const time = now();
  try {
    if (gone) throw new Error(gone);
    const value = `probe-${Date.now()}`;
    const read = await withRedis(primary, async (client) => {
      await client.set(`${REDIS_KEY_PREFIX}${PROBE_KEY}`, value);
      return client.get(`${REDIS_KEY_PREFIX}${PROBE_KEY}`);
    }, 10_000);
    if (read !== value) throw new Error(`the probe key read back ${JSON.stringify(read)} instead of ${JSON.stringify(value)}`);
    final.probe = { ok: true, time, latencyMs: Math.round(performance.now() - started), node: primary.name, key: PROBE_KEY, via: 'with GET' };
  } catch (error) {
    final.probe = { ok: false, time, latencyMs: Math.round(performance.now() - started), node: primary.name, key: PROBE_KEY, error: describeError(error) };
  }
  return final;
}
