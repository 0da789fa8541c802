// `faultline prove-backup` for Redis and Valkey: the user's files checked by the server's own tools,
// copied into a scratch node and loaded by the server, then read back from it: the keys it holds,
// a write, its version, and the user's own commands.

import { timed } from '../../../cluster/scratch-node.ts';
import type { InspectedBackup, ProveContext, ProveEvidence, UserCheckResult } from '../../../cluster/prove-ability.ts';
import { judgeRedisReply, parseRedisChecks } from '../../../prove/redis-checks.ts';
import type { RedisNodeHandle } from '../redis-node.ts';
import { parseCliReply } from './cli-reply.ts';
import { loadedFiles, type RedisDetails } from './inspect.ts';
import { fetchFiles, startScratch } from './scratch.ts';
import { cli, SERVER_LOG, startAndLoad } from './server.ts';
import { verifyFiles } from './verify.ts';

/** The key faultline writes to prove the restored server takes writes (on the scratch copy only). */
const WRITE_KEY = 'faultline:prove-backup:write';

/** Checks the user's Redis checks file: a ConfigError names the line. */
export function parseRedisCheckFile(text: string, file: string): number {
  return parseRedisChecks(text, file).length;
}

/** `INFO keyspace` as keys per database: `db0:keys=1000,expires=0,...`. */
export function keyspace(info: string): Map<number, number> {
  const dbs = new Map<number, number>();
  for (const match of info.matchAll(/^db(\d+):keys=(\d+)/gm)) dbs.set(Number(match[1]), Number(match[2]));
  return dbs;
}

/** The version line of `INFO server`: 'Redis 8.0.2', 'Valkey 8.1.1'. */
function versionOf(info: string): string {
  const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
  const valkey = field('valkey_version');
  return valkey ? `Valkey ${valkey}` : `Redis ${field('redis_version') ?? 'of an unknown version'}`;
}

export async function proveRedis(backup: InspectedBackup, image: string, context: ProveContext): Promise<ProveEvidence> {
  const { phases } = context;
  const details = backup.details as unknown as RedisDetails;
  const evidence: ProveEvidence = { version: '', image, started: false, integrity: [], phases, mounts: [], notes: [] };
  context.log('starting the scratch node (its own volume, your data directory read-only, no network)');
  const { node, mounts, notes } = await startScratch(backup, image, context);
  evidence.mounts = mounts;
  evidence.notes.push(...notes);
  // Dated by the files themselves (inspection read it): known even when the server cannot load them.
  if (backup.backup.stoppedAt) evidence.freshness = { at: backup.backup.stoppedAt, by: 'dump-time', detail: details.datedBy };
  context.log(`copying ${backup.backup.label} into the scratch node's volume`);
  await timed(phases, 'fetch', () => fetchFiles(node, details));
  // Before the server reads anything: the files as they are in the backup.
  context.log(`checking your files with ${node.server}-check-rdb / ${node.server}-check-aof`);
  evidence.integrity.push(...(await timed(phases, 'checks', () => verifyFiles(node, details))));
  if (details.layout.aof && details.layout.rdb) evidence.notes.push(`the server loaded the AOF and skipped ${details.layout.rdb}, as a server with appendonly yes does`);
  evidence.notes.push('the server ran with none of your settings: loading your files, saving nothing on its own, listening on 127.0.0.1 inside the scratch node only');

  const files = loadedFiles(details.layout).join(', ');
  context.log(`starting ${node.serverName} on the copy: loading ${files}`);
  const outcome = await timed(phases, 'replay', () => startAndLoad(node, details, context));
  if (!outcome.started) {
    evidence.startError = outcome.error;
    return evidence;
  }
  evidence.started = true;
  // aof-load-truncated (the default) loads an AOF cut short up to its last whole command: say so.
  const truncated = await node.exec(['grep', '-m', '1', '-E', 'short read|truncated', SERVER_LOG], { user: 'root' });
  if (truncated.exitCode === 0) evidence.notes.push(`the server loaded an AOF that ends early, up to its last whole command: ${truncated.stdout.trim().replace(/^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ [#*] /, '')}`);
  await timed(phases, 'checks', async () => {
    evidence.version = versionOf((await cli(node, ['INFO', 'server'])).stdout);
    const keyInfo = await cli(node, ['INFO', 'keyspace']);
    const dbsize = await cli(node, ['DBSIZE']);
    const dbs = keyspace(keyInfo.stdout);
    const keys = [...dbs.values()].reduce((sum, n) => sum + n, 0);
    const db0 = Number(dbsize.stdout.trim());
    evidence.read =
      keyInfo.exitCode === 0 && dbsize.exitCode === 0 && Number.isInteger(db0)
        ? { ok: true, detail: `${keys} keys in ${dbs.size} database${dbs.size === 1 ? '' : 's'} (INFO keyspace), DBSIZE ${db0} in db 0` }
        : { ok: false, detail: `${keyInfo.stdout}${keyInfo.stderr}${dbsize.stdout}${dbsize.stderr}`.trim() || 'no answer' };
    evidence.reached = { point: `loaded ${keys} keys from ${files}`, counts: { keys } };
    evidence.write = await write(node);
    if (context.checks) evidence.userChecks = await userChecks(node, context.checks);
  });
  return evidence;
}

/** SET of faultline's own key, then GET of it: the server takes a write and reads it back. */
async function write(node: RedisNodeHandle): Promise<NonNullable<ProveEvidence['write']>> {
  const value = new Date().toISOString();
  const set = await cli(node, ['SET', WRITE_KEY, value]);
  const said = `${set.stdout}${set.stderr}`.trim();
  if (set.exitCode !== 0 || said !== 'OK') return { ok: false, detail: `SET ${WRITE_KEY} answered ${said || `exit ${set.exitCode}`}` };
  const get = await cli(node, ['GET', WRITE_KEY]);
  return get.stdout.trim() === value ? { ok: true, detail: `SET ${WRITE_KEY} and GET of it in db 0` } : { ok: false, detail: `GET ${WRITE_KEY} after SET answered '${`${get.stdout}${get.stderr}`.trim()}'` };
}

/** Each of the user's commands through redis-cli in the node, judged one by one (an error reply is its failure, not the proof's). */
async function userChecks(node: RedisNodeHandle, checks: NonNullable<ProveContext['checks']>): Promise<UserCheckResult[]> {
  const results: UserCheckResult[] = [];
  for (const check of parseRedisChecks(checks.text, checks.file)) {
    // The arguments go as the command's own argv: no shell ever sees the user's text.
    const record = await cli(node, ['--no-raw', ...check.args], 30 * 60_000);
    const verdict = judgeRedisReply(parseCliReply(record.exitCode, record.stdout, record.stderr));
    results.push({ index: check.index, line: check.line, where: 'db 0', text: check.text, ok: verdict.ok, why: verdict.why });
  }
  return results;
}
