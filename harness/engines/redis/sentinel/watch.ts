// Watching Redis Sentinel fail over: faultline subscribes to every Sentinel's events (pub/sub on
// its port, as Sentinel's clients do) and appends to the history, as each is first heard, what the
// Sentinels said (+sdown, +odown, +elected-leader, +promoted-slave, +switch-master, …; the first
// +odown of the primary is the manager's detection) and every role change: the promoted server
// ('primary', with the one it replaced) and each server told to follow it (+convert-to-slave:
// 'replica'); when Sentinel chooses the replica to promote (+selected-slave), every candidate's
// replication offset is read at once, for failover-choice. The cluster's primary follows +switch-master, so that faults aimed at 'primary' and
// the final read find the server Sentinel chose; the deposed primary is retired (not compared as a
// replica) until Sentinel tells it to follow. Settling, after the workload, waits until the
// Sentinels agree on one primary that every running server follows.

import { Redis } from 'ioredis';
import type { HaManager, HaWatch } from '../../../cluster/ha-ability.ts';
import type { HistoryWriter } from '../../../history/writer.ts';
import type { ManagerEvent, RoleEvent } from '../../../history/events.ts';
import { describeError } from '../../../errors.ts';
import { waitFor } from '../../../wait.ts';
import { containerEndpoint, REDIS_PORT, type RedisNodeHandle } from '../redis-node.ts';
import type { RedisWorkloadTarget } from '../client.ts';
import type { StartedRedisCluster } from '../start-cluster.ts';
import { MASTER_NAME, SENTINEL_PORT, sentinelMaster, stopSentinel } from './start.ts';

/** Channels worth a line in the history (Sentinel's +/-) besides the role changes. */
const NOTABLE = /^[+-](sdown|odown|try-failover|elected-leader|failover-state-[\w-]+|selected-slave|promoted-slave|failover-end|failover-end-for-timeout|failover-abort-[\w-]+|switch-master|convert-to-slave|tilt)$/;

export function sentinelManager(cluster: StartedRedisCluster): HaManager | undefined {
  const ha = cluster.topology.redis.ha;
  if (!ha) return undefined;
  const chosen = ha.defaulted.length > 0 ? ` (faultline's defaults for short drills: ${ha.defaulted.join(', ')})` : '';
  return {
    name: 'sentinel',
    describe: `${cluster.topology.redis.server === 'valkey' ? 'Valkey' : 'Redis'} Sentinel beside each server, quorum ${ha.quorum}, down-after-milliseconds ${ha.downAfterMs}, failover-timeout ${ha.failoverTimeoutMs}${chosen}; faultline performs no failover`,
    watch: (history, log) => watchSentinels(cluster, history, log),
    stopMember: (node, how) => stopSentinel(cluster.node(node.name), how),
  };
}

/** Where the workload's clients ask for the primary: every Sentinel, as an application lists them. */
export function sentinelTarget(cluster: StartedRedisCluster): RedisWorkloadTarget['sentinel'] {
  if (!cluster.topology.redis.ha) return undefined;
  const servers = cluster.nodes.filter((n) => n.runsServer);
  const natMap = Object.fromEntries(servers.map((n) => [`${n.container.getIpAddress(cluster.run.networkName)}:${REDIS_PORT}`, n.endpoint()]));
  return {
    name: MASTER_NAME,
    sentinels: servers.map((n) => containerEndpoint(n.container, SENTINEL_PORT)),
    natMap,
    nodeAt: (host, port) => servers.find((n) => n.endpoint().host === host && n.endpoint().port === port)?.name,
  };
}

async function watchSentinels(cluster: StartedRedisCluster, history: HistoryWriter, log: (line: string) => void): Promise<HaWatch> {
  const servers = cluster.nodes.filter((n) => n.runsServer);
  const ipOf = (node: RedisNodeHandle) => node.container.getIpAddress(cluster.run.networkName);
  const byIp = (ip: string) => servers.find((n) => ipOf(n) === ip);
  const heard = new Set<string>();
  const subscribers: Redis[] = [];
  const reading: Array<Promise<void>> = [];
  // Where each candidate stood when Sentinel chose one (+selected-slave): every running server but
  // the primary being replaced, by the replication offset it had processed.
  const recordChoice = async (chosen: RedisNodeHandle, failed: RedisNodeHandle | undefined, detail: string) => {
    const candidates = servers.filter((n) => n !== failed && !n.lost);
    // A replica's processed offset; one already promoted carries it on as its own master offset.
    const offsetOf = async (n: RedisNodeHandle) => {
      const info = await n.info('replication').catch(() => ({}) as Record<string, string>);
      return Number(info.slave_repl_offset ?? info.master_repl_offset ?? NaN);
    };
    const offsets = await Promise.all(candidates.map(async (n) => [n.name, await offsetOf(n)] as const));
    const positions = Object.fromEntries(offsets.filter(([, offset]) => Number.isFinite(offset)));
    history.append<ManagerEvent>({ type: 'manager', by: 'sentinel', what: 'chose', node: chosen.name, detail, positions });
  };
  const onMessage = (from: RedisNodeHandle, channel: string, message: string) => {
    if (!NOTABLE.test(channel) || heard.has(`${channel} ${message}`)) return;
    heard.add(`${channel} ${message}`);
    const words = message.split(' ');
    // The primary found down by the quorum: the first +odown of the master is the manager's detection.
    const detected = channel === '+odown' && words[0] === 'master' && !heard.has(`detected ${words[2]}`);
    if (detected) heard.add(`detected ${words[2]}`);
    history.append<ManagerEvent>({ type: 'manager', by: 'sentinel', what: detected ? 'detected' : 'said', node: detected ? (byIp(words[2] ?? '')?.name ?? from.name) : from.name, detail: `${channel} ${message}` });
    if (channel === '+selected-slave') {
      // "slave <ip>:<port> <ip> <port> @ <name> <master ip> <master port>"
      const chosen = byIp(words[2] ?? '');
      if (chosen) reading.push(recordChoice(chosen, byIp(words[6] ?? ''), `${channel} ${message}`).catch(() => {}));
    }
    if (channel === '+switch-master' && words[0] === MASTER_NAME) {
      const [previous, promoted] = [byIp(words[1]!), byIp(words[3]!)];
      if (!promoted || promoted === cluster.primary()) return;
      history.append<RoleEvent>({ type: 'role', node: promoted.name, role: 'primary', by: 'sentinel', ...(previous ? { previous: previous.name } : {}), detail: `${channel} ${message}` });
      // The deposed primary is retired until Sentinel tells it to follow (+convert-to-slave).
      cluster.setPrimary(promoted);
      for (const key of heard) if (key.startsWith('detected ')) heard.delete(key); // the next failover is detected anew
      log(`sentinel: ${promoted.name} is the primary now${previous ? ` (was ${previous.name})` : ''}`);
    }
    if (channel === '+convert-to-slave') {
      const node = byIp(words[2] ?? '');
      if (node) {
        history.append<RoleEvent>({ type: 'role', node: node.name, role: 'replica', by: 'sentinel', detail: `${channel} ${message}` });
        if (!node.lost && node !== cluster.primary()) node.role = 'replica';
      }
    }
  };
  for (const node of servers) {
    const { host, port } = containerEndpoint(node.container, SENTINEL_PORT);
    const subscriber = new Redis({ host, port, lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 500 });
    subscriber.on('error', () => {});
    subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => onMessage(node, channel, message));
    await subscriber.connect();
    await subscriber.psubscribe('*');
    subscribers.push(subscriber);
  }
  return {
    settle: async (timeoutMs) => {
      await Promise.all(reading);
      return settle(cluster, servers, ipOf, timeoutMs);
    },
    async stop() {
      for (const subscriber of subscribers) subscriber.disconnect();
      await Promise.all(reading);
    },
  };
}

/** What a server says of its role: 'master', or 'slave of <ip> (link up|down)'. */
async function roleOf(node: RedisNodeHandle): Promise<string> {
  const info = await node.info('replication');
  return info.role === 'master' ? 'master' : `slave of ${info.master_host} (link ${info.master_link_status})`;
}

async function settle(cluster: StartedRedisCluster, servers: RedisNodeHandle[], ipOf: (node: RedisNodeHandle) => string, timeoutMs: number): Promise<{ settled: boolean; detail: string }> {
  let last = '';
  try {
    const detail = await waitFor({ what: 'the Sentinels to settle', timeoutMs, intervalMs: 200 }, async (seen) => {
      // A deposed primary whose server is down is not waited for; one that runs must follow too.
      const down = await Promise.all(servers.map(async (n) => !n.lost && n.role === 'retired' && !(await n.serverRunning().catch(() => false))));
      const live = servers.filter((n, i) => !n.lost && !down[i]);
      const retired = servers.filter((_, i) => down[i]).map((n) => `${n.name} deposed, its server down`);
      const masters = await Promise.all(live.map(async (n) => (await sentinelMaster(n).catch(() => ({}) as Record<string, string>)).ip ?? '?'));
      const roles = await Promise.all(live.map(async (n) => `${n.name} ${await roleOf(n).catch((e: unknown) => `unreadable (${describeError(e)})`)}`));
      const primary = cluster.primary();
      last = `Sentinels see ${[...new Set(masters)].map((ip) => servers.find((n) => ipOf(n) === ip)?.name ?? ip).join(' and ')} as the primary; ${[...roles, ...retired].join(', ')}`;
      seen(last);
      const agreed = masters.every((ip) => ip === ipOf(primary));
      const following = live.every((n, i) => (n === primary ? roles[i]!.endsWith(' master') : roles[i] === `${n.name} slave of ${ipOf(primary)} (link up)`));
      return agreed && following ? last : undefined;
    });
    return { settled: true, detail };
  } catch {
    return { settled: false, detail: last || 'the Sentinels could not be read' };
  }
}
