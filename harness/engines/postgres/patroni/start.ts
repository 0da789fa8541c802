// Starting a PostgreSQL cluster under Patroni (topology `postgres.ha`): each server's node runs an
// etcd member (its data on a volume of its own in the node's failure domain) and Patroni, which
// owns its PostgreSQL. The primary's Patroni bootstraps the cluster (initdb with data checksums) and
// takes the leader lock; the replicas' Patroni clone it with pg_basebackup and follow. HAProxy, in a
// node of no failure domain, sends clients to whichever member Patroni's REST API says is the leader.
// Ready means etcd has its quorum, the primary is Patroni's leader, every replica streams with zero
// lag, and HAProxy routes to the leader.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ClusterError, describeError } from '../../../errors.ts';
import { waitFor } from '../../../wait.ts';
import { startNodeContainer, type StartContext } from '../../../cluster/start-cluster.ts';
import type { StartedNode } from '../../../cluster/docker/docker-run.ts';
import { PG_PORT, PGDATA, PostgresNodeHandle } from '../postgres-node.ts';
import type { PostgresTopology } from '../topology.ts';
import { ETCD_PORT, haproxyConf, patroniConf, patroniServerConf, PROXY_PORT, REST_PORT, SCOPE, type Member } from './conf.ts';
import { ETCD_VOLUME, PROXY_NODE } from './topology.ts';
import { restState } from './rest.ts';
import { backupToolHooks } from '../backup-tools.ts';

/** What a cluster under Patroni has besides its servers. */
export interface PatroniParts {
  proxy: StartedNode;
  members: Member[];
  password: string;
  /** The PostgreSQL settings file every member's Patroni includes (custom_conf): a restore of a member's backup needs it too. */
  customConf: string;
}

/** Brings up etcd, Patroni and HAProxy, then waits for the cluster to be ready; returns the nodes and parts. */
export async function bringUpPatroni(
  { topology, run, image, log, readyTimeoutMs }: StartContext<PostgresTopology>,
  serverConf: string,
): Promise<{ handles: PostgresNodeHandle[]; parts: PatroniParts; notes: string[] }> {
  const ha = topology.postgres.ha!;
  const password = randomBytes(12).toString('hex');
  const specs = topology.postgres.nodes.filter((n) => n.role !== 'archive');
  const archiveSpec = topology.postgres.nodes.find((n) => n.role === 'archive');
  // The backup host of the user's archive_command (no Patroni member): set up once the leader runs.
  const hooks = archiveSpec ? backupToolHooks(topology) : undefined;
  const primarySpec = specs.find((n) => n.role === 'primary')!;
  const [handles, proxy, archive] = await Promise.all([
    Promise.all(
      specs.map(async (spec) => {
        const node = new PostgresNodeHandle(
          await startNodeContainer(run, image, spec, { name: 'data', owner: 'postgres:postgres', ports: [PG_PORT, REST_PORT, ETCD_PORT], more: [ETCD_VOLUME], ...hooks?.containerOptions(topology, 'server') }),
          spec,
          password,
        );
        node.supervisor = 'patroni';
        return node;
      }),
    ),
    run.startNode({ name: PROXY_NODE, image, exposedPorts: [PROXY_PORT], luns: [] }),
    archiveSpec && hooks
      ? startNodeContainer(run, image, archiveSpec, { name: 'repo', owner: 'postgres:postgres', ports: [PG_PORT], ...hooks.containerOptions(topology, 'archive') }).then((c) => new PostgresNodeHandle(c, archiveSpec, password))
      : undefined,
  ]);
  const members: Member[] = handles.map((h) => ({ name: h.name, ip: h.container.getIpAddress(run.networkName) }));
  log(`run ${run.id}: starting etcd on ${handles.map((h) => h.name).join(', ')} (one member beside each server, on a volume of its own)`);
  const cluster = members.map((m) => `${m.name}=http://${m.ip}:2380`).join(',');
  await run.track(
    Promise.all(
      handles.map((h, i) => h.run(['fl-patroni', 'etcd'], { env: { FL_NAME: h.name, FL_IP: members[i]!.ip, FL_ETCD_CLUSTER: cluster, FL_ETCD_TOKEN: `faultline-${run.id}`, FL_ETCD_DATA: `${ETCD_VOLUME.mountPoint}/data` } })),
    ),
  );
  await waitFor({ what: 'etcd to have a quorum (endpoint health on every member)', timeoutMs: readyTimeoutMs, intervalMs: 100, error: (m) => new ClusterError(m) }, async (seen) => {
    const health = await handles[0]!.exec(['etcdctl', `--endpoints=${members.map((m) => `http://${m.ip}:${ETCD_PORT}`).join(',')}`, '--dial-timeout=1s', '--command-timeout=2s', 'endpoint', 'health']);
    seen((health.stdout + health.stderr).trim().replace(/\n/g, '; '));
    return health.exitCode === 0 ? true : undefined;
  });
  run.checkpoint();
  const customConf = patroniServerConf(serverConf);
  const env = (h: PostgresNodeHandle, i: number) => ({
    FL_PATRONI_CONF: patroniConf({ member: members[i]!, members, ha, password, version: topology.postgres.version, dataDir: PGDATA }),
    FL_PG_CONF: customConf,
  });
  const primary = handles.find((h) => h.spec === primarySpec)!;
  log(`run ${run.id}: starting Patroni on '${primary.name}' (it bootstraps the cluster: initdb with data checksums)`);
  await run.track(primary.run(['fl-patroni', 'start'], { env: env(primary, handles.indexOf(primary)) }));
  await waitForRole(primary, 'primary', readyTimeoutMs);
  run.checkpoint();
  const replicas = handles.filter((h) => h !== primary);
  log(`run ${run.id}: starting Patroni on ${replicas.map((r) => `'${r.name}'`).join(', ')} (each clones the leader with pg_basebackup)`);
  await run.track(Promise.all(replicas.map((r) => r.run(['fl-patroni', 'start'], { env: env(r, handles.indexOf(r)) }))));
  await Promise.all(replicas.map((r) => waitForRole(r, 'replica', readyTimeoutMs)));
  // With synchronous_mode, Patroni names its synchronous standby in the DCS only once that standby
  // has caught up; until then no replica may be promoted (none is known to hold every commit). A
  // drill starts once it is named, as a cluster that has run for a while would have it.
  if (ha.synchronousMode) await waitForSyncStandby(primary, readyTimeoutMs);
  run.checkpoint();
  const conf = haproxyConf(members, ha);
  await run.track(proxy.container.exec(['fl-patroni', 'proxy'], { env: { FL_HAPROXY_CFG: conf }, user: 'root' }).then((r) => {
    if (r.exitCode !== 0) throw new ClusterError(`HAProxy did not start on ${PROXY_NODE}: ${r.output.trim()}`);
  }));
  await waitForProxy(proxy, members.find((m) => m.name === primary.name)!.ip, members.length, password, readyTimeoutMs);
  const chosen = ha.defaulted.length > 0 ? ` (faultline's defaults for short drills: ${ha.defaulted.join(', ')})` : '';
  const notes = [
    `Patroni ${SCOPE}: leader ${primary.name}, replicas ${replicas.map((r) => r.name).join(', ')}; ttl ${ha.ttl}, loop_wait ${ha.loopWait}, retry_timeout ${ha.retryTimeout}, synchronous_mode ${ha.synchronousMode}${chosen}; clients through HAProxy on ${PROXY_NODE}`,
  ];
  if (archive && hooks) {
    // Every server runs the archive_command as written (archive_mode in Patroni's PostgreSQL
    // settings), so whichever Patroni makes leader archives: the backup host needs nothing more.
    log(`run ${run.id}: setting up ${hooks.name} (backup host '${archive.name}')`);
    const said = await run.track(hooks.setUp({ topology, run, nodes: [...handles, archive], primary, archive, log }));
    notes.push(`${hooks.name} set up: ${said}`);
    log(`run ${run.id}: ${notes.at(-1)}`);
    run.checkpoint();
  }
  return { handles: archive ? [...handles, archive] : handles, parts: { proxy, members, password, customConf }, notes };
}

/** Waits until the member's REST API says it runs PostgreSQL in this role (a replica: streaming). */
async function waitForRole(node: PostgresNodeHandle, role: 'primary' | 'replica', timeoutMs: number): Promise<void> {
  await waitFor({ what: `Patroni on ${node.name} to run PostgreSQL as the ${role === 'primary' ? 'leader' : 'streaming replica'}`, timeoutMs, intervalMs: 100, error: (m) => new ClusterError(m) }, async (seen) => {
    const state = await restState(node);
    seen(state.said);
    if (role === 'primary') return state.role === 'primary' && state.state === 'running' ? true : undefined;
    return state.role === 'replica' && state.streaming ? true : undefined;
  });
}

/** Waits until Patroni's view of the cluster (GET /cluster on the leader) names a synchronous standby. */
async function waitForSyncStandby(leader: PostgresNodeHandle, timeoutMs: number): Promise<void> {
  const url = `http://${leader.container.getHost()}:${leader.container.getMappedPort(REST_PORT)}/cluster`;
  await waitFor({ what: 'Patroni to name a synchronous standby in etcd (synchronous_mode)', timeoutMs, intervalMs: 200, error: (m) => new ClusterError(m) }, async (seen) => {
    try {
      const body = (await (await fetch(url, { signal: AbortSignal.timeout(1000) })).json()) as { members?: Array<{ name: string; role: string }> };
      const roles = (body.members ?? []).map((m) => `${m.name} ${m.role}`);
      seen(roles.join(', '));
      return roles.some((r) => r.endsWith(' sync_standby') || r.endsWith(' quorum_standby')) ? true : undefined;
    } catch (error) {
      seen(describeError(error));
      return undefined;
    }
  });
}

/**
 * Waits until HAProxy routes only to the leader. Its servers count as up until their first health
 * checks fail, and it balances round robin: as many connections in a row as there are members, all
 * reaching the leader, mean every other member is marked down.
 */
async function waitForProxy(proxy: StartedNode, leaderIp: string, members: number, password: string, timeoutMs: number): Promise<void> {
  await waitFor({ what: `HAProxy on ${PROXY_NODE} to route only to the leader (${leaderIp})`, timeoutMs, intervalMs: 200, error: (m) => new ClusterError(m) }, async (seen) => {
    const reached: string[] = [];
    for (let i = 0; i < members; i++) {
      const client = new pg.Client({ host: proxy.container.getHost(), port: proxy.container.getMappedPort(PROXY_PORT), user: 'postgres', password, database: 'postgres', connectionTimeoutMillis: 2000 });
      client.on('error', () => {});
      try {
        await client.connect();
        const { rows } = await client.query<{ ip: string }>('SELECT host(inet_server_addr()) AS ip');
        reached.push(rows[0]?.ip ?? '?');
      } catch (error) {
        reached.push(describeError(error));
      } finally {
        await client.end().catch(() => {});
      }
    }
    seen(`connections reached ${reached.join(', ')}`);
    return reached.every((ip) => ip === leaderIp) ? true : undefined;
  });
}
