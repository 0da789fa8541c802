// Redis's silent-corruption kinds, and the archive-gap fault's damage to its backups:
//   aof-tail    the newest AOF file loses its last bytes (a torn tail): Redis starts anyway
//               (aof-load-truncated yes) without the commands that were there;
//   aof-middle  garbage overwrites bytes in the middle of the newest AOF file: Redis refuses to start
//               ("Bad file format"), and redis-check-aof --fix would truncate there;
//   rdb         garbage in the middle of dump.rdb: its checksum fails when it is loaded.
// After the damage the server is killed and started again (evict), so that it reads its files back.

import { ClusterError } from '../../errors.ts';
import type { Random } from '../../random.ts';
import { damageAt, damageStillThere, overwriteScript } from '../../cluster/damage.ts';
import type { Corruption, CorruptionOptions } from '../../cluster/engine.ts';
import { waitFor } from '../../wait.ts';
import { killAll } from '../../cluster/kill.ts';
import { AOF_DIR, BACKUPS, RDB_FILE, type RedisNodeHandle } from './redis-node.ts';

export const REDIS_CORRUPTION_KINDS = ['aof-tail', 'aof-middle', 'rdb'] as const;
const LOG = '/var/log/faultline/redis.log';

async function size(node: RedisNodeHandle, file: string): Promise<number> {
  return Number((await node.run(['stat', '-c', '%s', file], { user: 'root' })).stdout.trim());
}

/** The newest AOF file: the last incremental file of the manifest (the one being appended to). */
async function newestAof(node: RedisNodeHandle): Promise<string> {
  const manifest = (await node.exec(['bash', '-c', `cat ${AOF_DIR}/*.manifest 2>/dev/null`], { user: 'root' })).stdout;
  const files = manifest.split('\n').map((line) => /file (\S+) seq \d+ type ([bi])/.exec(line)).filter((m) => m !== null);
  const incr = files.filter((m) => m[2] === 'i').at(-1) ?? files.at(-1);
  if (!incr) throw new ClusterError(`${node.name} has no AOF (appendonly is off, or nothing was written yet): the AOF kinds need 'appendonly: true'`);
  return `${AOF_DIR}/${incr[1]}`;
}

async function stopNow(node: RedisNodeHandle): Promise<void> {
  await killAll(node, node.serverProcess);
}

/** Kills the server and starts it again on what its volume holds; says whether it came back. */
async function restart(node: RedisNodeHandle): Promise<{ ok: boolean; log: string }> {
  const from = Number((await node.exec(['stat', '-c', '%s', LOG])).stdout.trim()) || 0;
  await stopNow(node);
  return start(node, from);
}

async function start(node: RedisNodeHandle, from: number): Promise<{ ok: boolean; log: string }> {
  if (from === 0) from = Number((await node.exec(['stat', '-c', '%s', LOG])).stdout.trim()) || 0;
  const started = await node.exec(['fl-redis', 'start']);
  const log = (await node.exec(['bash', '-c', `tail -c +${from + 1} ${LOG}`])).stdout;
  return { ok: started.exitCode === 0, log: started.exitCode === 0 ? log : `${started.stderr}\n${log}` };
}

/** The server's last words: its error lines when it wrote any (not its start-up warnings), else the last lines. */
function lastLines(text: string, n = 3): string {
  const lines = text.trim().split('\n').filter(Boolean);
  const errors = lines.filter((l) => /bad|wrong|error|can't|cannot|fatal|corrupt|truncat|short read|fail/i.test(l) && !/overcommit/i.test(l));
  return (errors.length > 0 ? errors : lines).slice(-n).join(' | ');
}

export async function corruptRedis(node: RedisNodeHandle, { kind, places: count, bytes, evict, random }: CorruptionOptions): Promise<Corruption> {
  let file: string;
  let detail: string;
  let check: () => Promise<string | undefined>;
  if (kind === 'aof-tail') {
    // A torn tail is what a crash leaves: the server dies first, then its last bytes go, then it
    // starts again. (Cutting under a running server would put its next commands after a partial one.)
    file = await newestAof(node);
    await stopNow(node);
    const length = await size(node, file);
    const cut = Math.min(length, count * bytes);
    await node.run(['bash', '-c', `truncate -s ${length - cut} '${file}' && fl-sync '${file}'`], { user: 'root' });
    const detail = `killed ${node.serverName} on ${node.name} and cut the last ${cut} bytes of ${file} (${length} → ${length - cut} bytes)`;
    const restarted = await start(node, 0);
    if (!restarted.ok) return { detail: `${detail}; ${node.serverName} does not start again: ${lastLines(restarted.log)}` };
    const said = restarted.log.split('\n').filter((l) => /truncat|short read/i.test(l)).join('\n');
    if (cut === 0) return { detail, noEffect: 'the newest AOF file held nothing to cut' };
    return { detail: `${detail}; ${node.serverName} restarted${said ? ` (it said: ${lastLines(said, 2)})` : ''}` };
  } else if (kind === 'aof-middle' || kind === 'rdb') {
    if (kind === 'rdb' && evict && (await node.info('persistence')).aof_enabled === '1') {
      return { detail: `left ${RDB_FILE} on ${node.name} alone`, noEffect: `${node.serverName} loads its AOF, not dump.rdb, at a restart: damage to the RDB would never be read` };
    }
    if (kind === 'rdb') {
      const exists = (await node.exec(['test', '-s', RDB_FILE])).exitCode === 0;
      if (!exists) {
        // No snapshot yet (save points not reached): take one, as the next save point would.
        await node.cli('BGSAVE');
        await waitFor({ what: `${node.name} to write ${RDB_FILE}`, timeoutMs: 30_000, intervalMs: 50 }, async () => ((await node.info('persistence')).rdb_bgsave_in_progress === '0' && (await node.exec(['test', '-s', RDB_FILE])).exitCode === 0 ? true : undefined));
      }
      file = RDB_FILE;
    } else {
      file = await newestAof(node);
    }
    const length = await size(node, file);
    // The middle half of the file: past any header, clear of the end the server is still writing.
    const from = Math.floor(length / 4);
    const to = Math.floor((3 * length) / 4) - bytes;
    if (to <= from) return { detail: `${file} on ${node.name} holds only ${length} bytes`, noEffect: `${file} holds too little (${length} bytes) to damage its middle` };
    const offsets = [...new Set(Array.from({ length: count }, () => from + Math.floor(random() * (to - from))))].sort((a, b) => a - b);
    const places = damageAt(offsets, bytes, random);
    await node.run(['bash', '-c', overwriteScript(file, places)], { user: 'root' });
    detail = `overwrote ${bytes} bytes at ${offsets.length} place(s) of ${file} on ${node.name} (offsets ${offsets.join(', ')} of ${length})`;
    check = async () => ((await damageStillThere(node, file, places)) === 0 ? `none of the damaged places of ${file} holds the garbage any more` : undefined);
  } else {
    throw new ClusterError(`Redis has no corruption kind '${kind}' (it has ${REDIS_CORRUPTION_KINDS.join(', ')})`);
  }
  if (!evict) return { detail, ...(await noEffect(check)) };
  const restarted = await restart(node);
  if (!restarted.ok) return { detail: `${detail}; ${node.serverName} does not start again: ${lastLines(restarted.log)}` };
  detail += `; ${node.serverName} restarted`;
  return { detail, ...(await noEffect(check)) };
}

async function noEffect(check: () => Promise<string | undefined>): Promise<{ noEffect?: string }> {
  const why = await check();
  return why ? { noEffect: why } : {};
}

/** archive-gap for Redis: the newest RDB copy on the backup node is removed, or damaged in its middle. */
export async function damageNewestBackup(node: RedisNodeHandle, how: 'remove' | 'damage', random: Random): Promise<Corruption> {
  const file = (await node.exec(['bash', '-c', `ls -1 ${BACKUPS}/*.rdb 2>/dev/null | sort | tail -n 1`])).stdout.trim();
  if (!file) return { detail: `no RDB copy on ${node.name}`, noEffect: 'the backup node held no RDB copy yet' };
  if (how === 'remove') {
    await node.run(['bash', '-c', `rm -f '${file}' && fl-sync ${BACKUPS}`], { user: 'root' });
    const gone = (await node.exec(['test', '-e', file])).exitCode !== 0;
    return { detail: `removed the newest RDB copy ${file} from ${node.name}`, ...(gone ? {} : { noEffect: `${file} is still there after removal` }) };
  }
  const length = await size(node, file);
  const offset = Math.floor(length / 4) + Math.floor(random() * Math.max(1, Math.floor(length / 2) - 64));
  const places = damageAt([offset], 64, random);
  await node.run(['bash', '-c', `${overwriteScript(file, places)} && fl-sync ${BACKUPS}`], { user: 'root' });
  const there = await damageStillThere(node, file, places);
  return { detail: `overwrote 64 bytes at offset ${offset} of the newest RDB copy ${file} on ${node.name}`, ...(there === 1 ? {} : { noEffect: `the damaged bytes are not in ${file} when read back` }) };
}
