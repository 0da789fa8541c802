// Redis (or Valkey) Sentinel beside each server: one Sentinel in every server's node, as many
// deployments co-locate them, so that a node cut off from the others takes its Sentinel with it.
// Each runs the server's own binary in Sentinel mode under the name <server>-sentinel (the server's
// process name stays the server's alone: crashes and restarts of the server leave it running), with
// the topology's quorum, down-after-milliseconds and failover-timeout. Ready means every Sentinel
// monitors the primary and has found every replica and every other Sentinel.

import { ClusterError } from '../../../errors.ts';
import { waitFor } from '../../../wait.ts';
import { stopMemberProcess } from '../../../cluster/stop-member.ts';
import type { RedisTopology } from '../topology.ts';
import type { RedisNodeHandle } from '../redis-node.ts';

export const SENTINEL_PORT = 26379;
/** The name the Sentinels monitor the primary under. */
export const MASTER_NAME = 'faultline';
const CONF = '/etc/faultline/sentinel.conf';
export const SENTINEL_LOG = '/var/log/faultline/sentinel.log';

type Ha = NonNullable<RedisTopology['redis']['ha']>;

/** The sentinel.conf a node's Sentinel starts from (it rewrites it as it learns the cluster). */
export function sentinelConf(ha: Ha, primaryIp: string, announceIp: string): string {
  return [
    `port ${SENTINEL_PORT}`,
    'bind 0.0.0.0',
    'protected-mode no',
    'daemonize yes',
    `logfile ${SENTINEL_LOG}`,
    'pidfile /tmp/faultline-sentinel.pid',
    'dir /tmp',
    `sentinel announce-ip ${announceIp}`,
    `sentinel monitor ${MASTER_NAME} ${primaryIp} 6379 ${ha.quorum}`,
    `sentinel down-after-milliseconds ${MASTER_NAME} ${ha.downAfterMs}`,
    `sentinel failover-timeout ${MASTER_NAME} ${ha.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
  ].join('\n');
}

/** `SENTINEL MASTER <name>` (a flat list of fields and values) as a map; empty when it fails. */
export async function sentinelMaster(node: RedisNodeHandle): Promise<Record<string, string>> {
  // Bounded: a frozen Sentinel (manager-stop) accepts the connection and never answers.
  const reply = await node.exec(['timeout', '2', `${node.server}-cli`, '-p', String(SENTINEL_PORT), 'SENTINEL', 'MASTER', MASTER_NAME]);
  if (reply.exitCode !== 0) return {};
  const lines = reply.stdout.trim().split('\n');
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) fields[lines[i]!] = lines[i + 1]!;
  return fields;
}

/** The Sentinel's process name in a node (the server's binary under another name). */
export function sentinelProcess(node: RedisNodeHandle): string {
  return `${node.server}-sentinel`;
}

/** Starts the node's Sentinel from its configuration (which it rewrote with what it learned). */
export async function startSentinel(node: RedisNodeHandle): Promise<void> {
  await node.run([`/usr/local/bin/${sentinelProcess(node)}`, CONF, '--sentinel']);
}

/** The manager-stop fault for Sentinel: the node's Sentinel frozen (SIGSTOP) or killed (SIGKILL); healing resumes it, or starts it again. */
export function stopSentinel(node: RedisNodeHandle, how: 'pause' | 'kill'): Promise<{ detail: string; heal: () => Promise<string> }> {
  const name = sentinelProcess(node);
  return stopMemberProcess(node, how, {
    label: name,
    match: { exact: name },
    restart: async () => {
      await startSentinel(node);
      return `started ${name} on ${node.name} again, from the configuration it had rewritten`;
    },
  });
}

/** Starts a Sentinel in each of `servers` watching `primary`, and waits until they have found each other. */
export async function startSentinels(servers: RedisNodeHandle[], primary: RedisNodeHandle, ha: Ha, ipOf: (node: RedisNodeHandle) => string, timeoutMs: number): Promise<string> {
  await Promise.all(
    servers.map(async (node) => {
      const binary = `/usr/local/bin/${sentinelProcess(node)}`;
      await node.run(['bash', '-c', `ln -sf "$(command -v ${node.server}-server)" ${binary} && touch ${SENTINEL_LOG} && chown redis:redis ${SENTINEL_LOG}`], { user: 'root' });
      await node.run(['bash', '-c', `printf '%s\\n' "$FL_SENTINEL_CONF" > ${CONF}`], { env: { FL_SENTINEL_CONF: sentinelConf(ha, ipOf(primary), ipOf(node)) } });
      await startSentinel(node);
    }),
  );
  const replicas = servers.length - 1;
  await waitFor(
    { what: `the ${servers.length} Sentinels to find ${primary.name}'s ${replicas} replica(s) and each other`, timeoutMs, intervalMs: 100, error: (m) => new ClusterError(m) },
    async (seen) => {
      const views = await Promise.all(servers.map(async (node) => ({ node, master: await sentinelMaster(node) })));
      seen(views.map(({ node, master }) => `${node.name}: ${master['num-slaves'] ?? '?'} replicas, ${master['num-other-sentinels'] ?? '?'} other sentinels`).join('; '));
      return views.every(({ master }) => master.ip === ipOf(primary) && Number(master['num-slaves']) >= replicas && Number(master['num-other-sentinels']) >= servers.length - 1) ? true : undefined;
    },
  );
  return `${servers.length} Sentinels (one beside each server) monitor ${primary.name} as '${MASTER_NAME}': quorum ${ha.quorum}, down-after-milliseconds ${ha.downAfterMs}, failover-timeout ${ha.failoverTimeoutMs}`;
}
