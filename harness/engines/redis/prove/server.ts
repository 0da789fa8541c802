// The restored server: redis-server (or valkey-server) on the copy, with the user's data and none of
// their settings, reachable only on 127.0.0.1 inside the node, followed until it has loaded it all.

import type { ProveContext } from '../../../cluster/prove-ability.ts';
import { formatMs } from '../../../units.ts';
import { REDIS_DATA, REDIS_PORT, type RedisNodeHandle } from '../redis-node.ts';
import type { RedisDetails } from './inspect.ts';

export const SERVER_LOG = '/var/log/faultline/redis.log';

/** How loading ended: the server answers with everything loaded, or it stopped, in its own words. */
export type LoadOutcome = { started: true } | { started: false; error: string };

/**
 * The server's arguments: the AOF is loaded when there is one (appendonly yes: as the user's server
 * would), else the RDB; nothing is saved on its own, it listens on 127.0.0.1 only, and replicates nothing.
 */
export function serverArgs(details: RedisDetails): string[] {
  const { layout } = details;
  const aof = layout.aof;
  return [
    `${details.server}-server`,
    '--port', String(REDIS_PORT),
    '--bind', '127.0.0.1',
    '--protected-mode', 'yes',
    '--dir', REDIS_DATA,
    '--dbfilename', layout.rdb ?? 'dump.rdb',
    '--appendonly', aof ? 'yes' : 'no',
    ...(aof?.kind === 'multi' ? ['--appenddirname', aof.dir, '--appendfilename', aof.appendfilename] : aof ? ['--appendfilename', aof.file] : []),
    '--save', '',
    '--daemonize', 'yes',
    '--logfile', SERVER_LOG,
    '--pidfile', '/tmp/faultline-prove.pid',
  ];
}

/** The server's own lines that say why it stopped (its warnings, `#`), else its log's last lines. */
async function whyStopped(node: RedisNodeHandle, extra = ''): Promise<string> {
  const log = (await node.exec(['tail', '-n', '80', SERVER_LOG], { user: 'root' })).stdout;
  const lines = `${extra}\n${log}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const warnings = lines.filter((l) => /^\d+:[A-Z] .* # /.test(l) || /FATAL/.test(l)).map((l) => l.replace(/^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ # /, ''));
  // Its words on the data first; the host's advice (memory overcommit) is no reason it stopped.
  const errors = warnings.filter((l) => /error|fail|fatal|bad|short read|corrupt|unrecoverable|can't|cannot|invalid|unexpected|aborting|not valid/i.test(l) && !/overcommit/i.test(l));
  const said = errors.length > 0 ? errors : warnings.filter((l) => !/^WARNING/.test(l));
  return (said.length > 0 ? said.slice(-4) : lines.slice(-5)).join(' / ') || 'it left no log';
}

/** The node's redis-cli, to the restored server, without a shell; its record (errors as text). */
export function cli(node: RedisNodeHandle, args: string[], timeoutMs = 60_000) {
  return node.exec([`${node.server}-cli`, '-h', '127.0.0.1', '-p', String(REDIS_PORT), ...args], { timeoutMs });
}

/**
 * Starts the server on the copy and waits until it answers PING and INFO persistence says
 * loading:0, or it stops (a file it cannot load). Progress every 5 s from INFO persistence.
 */
export async function startAndLoad(node: RedisNodeHandle, details: RedisDetails, context: ProveContext): Promise<LoadOutcome> {
  await node.run(['bash', '-c', `mkdir -p /var/log/faultline && touch ${SERVER_LOG} && chown redis:redis /var/log/faultline ${SERVER_LOG}`], { user: 'root' });
  const start = await node.exec(serverArgs(details));
  // It daemonizes after reading its settings: a failure here is the data it was given (a bad manifest) or its words on why.
  if (start.exitCode !== 0) return { started: false, error: await whyStopped(node, `${start.stdout}\n${start.stderr}`) };
  const began = performance.now();
  let lastProgress = began;
  let seen = '';
  while (true) {
    const pong = await cli(node, ['PING'], 10_000);
    seen = `${pong.stdout}${pong.stderr}`.trim();
    if (seen === 'PONG') {
      const info = (await cli(node, ['INFO', 'persistence'], 10_000)).stdout;
      if (/^loading:0\r?$/m.test(info)) return { started: true };
      seen = 'loading';
    }
    if (!(await node.serverRunning())) return { started: false, error: await whyStopped(node) };
    const now = performance.now();
    if (now - lastProgress >= 5000) {
      lastProgress = now;
      const info = (await cli(node, ['INFO', 'persistence'], 10_000)).stdout;
      const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
      const done = field('loading_loaded_perc');
      context.log(`loading: ${done ? `${done}% of the data` : seen}${field('loading_eta_seconds') ? `, about ${field('loading_eta_seconds')} s left` : ''}`);
    }
    if (now - began > context.timeoutMs) {
      throw new Error(`the restored server did not finish loading within ${formatMs(context.timeoutMs)} (last seen: ${seen}); its log ends: ${await whyStopped(node)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
