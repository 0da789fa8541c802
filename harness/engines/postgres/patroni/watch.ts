// Watching Patroni fail over: every 250 ms faultline reads each member's REST API (GET /patroni: its
// role, state, timeline and WAL position) and the leader key in etcd (through etcd's own HTTP API),
// and appends to the history what changed as it is first seen: the leader key gone (the manager's
// detection: no member holds the leader lock), a new holder, each member's role and state changes,
// and every role change as a RoleEvent. When a new member becomes primary, the positions every
// candidate last reported are its choice (failover-choice); the cluster's primary follows, so that
// faults aimed at 'primary' and the final read find the server Patroni chose, and the deposed one is
// retired until it reports streaming as a replica. Settling, after the workload, waits until the
// leader key names the primary and every running member streams from it.

import type { HaManager, HaWatch, StopPart } from '../../../cluster/ha-ability.ts';
import type { ManagerEvent, RoleEvent } from '../../../history/events.ts';
import type { HistoryWriter } from '../../../history/writer.ts';
import { waitFor } from '../../../wait.ts';
import { stopMemberProcess } from '../../../cluster/stop-member.ts';
import { containerName } from '../../../cluster/node-exec.ts';
import type { WorkloadTarget } from '../client.ts';
import type { PostgresNodeHandle } from '../postgres-node.ts';
import type { StartedPostgresCluster } from '../started-cluster.ts';
import { ETCD_PORT, PATRONI_CONF, PROXY_PORT, REST_PORT, SCOPE } from './conf.ts';
import { restState, type MemberState } from './rest.ts';
import { PROXY_NODE } from './topology.ts';

const PATRONI_PROCESS = '^/usr/bin/python3 /usr/bin/patroni ';
const ETCD_PROCESS = '^etcd --name ';

export function patroniManager(cluster: StartedPostgresCluster): HaManager | undefined {
  const ha = cluster.topology.postgres.ha;
  if (!ha || !cluster.patroni) return undefined;
  const chosen = ha.defaulted.length > 0 ? ` (faultline's defaults for short drills: ${ha.defaulted.join(', ')})` : '';
  return {
    name: 'patroni',
    describe: `Patroni with etcd beside each server, ttl ${ha.ttl}, loop_wait ${ha.loopWait}, retry_timeout ${ha.retryTimeout}, maximum_lag_on_failover ${ha.maximumLagOnFailover}, synchronous_mode ${ha.synchronousMode}${ha.synchronousModeStrict ? ' (strict)' : ''}, failsafe_mode ${ha.failsafeMode}, HAProxy ${ha.shutdownSessions ? 'cutting' : 'keeping'} sessions to a server marked down${chosen}; faultline performs no failover`,
    watch: (history, log) => watchPatroni(cluster, history, log),
    stopMember: (node, how, part) => stopPatroni(cluster.node(node.name), how, part),
  };
}

/** Where the workload's clients write: HAProxy, which sends them to the leader, as applications connect. */
export function patroniTarget(cluster: StartedPostgresCluster): WorkloadTarget | undefined {
  if (!cluster.patroni) return undefined;
  const { proxy, members, password } = cluster.patroni;
  return {
    node: PROXY_NODE,
    config: { host: proxy.container.getHost(), port: proxy.container.getMappedPort(PROXY_PORT), user: 'postgres', password, database: 'postgres' },
    nodeAt: (ip) => members.find((m) => m.ip === ip)?.name,
  };
}

/** The cluster's Patroni members that are not lost (not a node added later, such as a runbook's empty node). */
function members(cluster: StartedPostgresCluster): PostgresNodeHandle[] {
  return cluster.nodes.filter((n) => !n.lost && n.supervisor === 'patroni');
}

/** The member holding the leader lock in etcd, '' when no one holds it, undefined when etcd did not answer. */
export async function leaderKey(cluster: StartedPostgresCluster): Promise<string | undefined> {
  const key = Buffer.from(`/service/${SCOPE}/leader`).toString('base64');
  for (const node of members(cluster)) {
    try {
      const url = `http://${node.container.getHost()}:${node.container.getMappedPort(ETCD_PORT)}/v3/kv/range`;
      const response = await fetch(url, { method: 'POST', body: JSON.stringify({ key }), signal: AbortSignal.timeout(1000) });
      if (!response.ok) continue;
      const body = (await response.json()) as { kvs?: Array<{ value?: string }> };
      const value = body.kvs?.[0]?.value;
      return value ? Buffer.from(value, 'base64').toString() : '';
    } catch {
      // This member's etcd did not answer (lost, cut off, stalled): ask the next.
    }
  }
  return undefined;
}

async function watchPatroni(cluster: StartedPostgresCluster, history: HistoryWriter, log: (line: string) => void): Promise<HaWatch> {
  const last = new Map<string, MemberState>();
  const positions = new Map<string, number>();
  let holder: string | undefined = cluster.primary().name;
  const say = (what: ManagerEvent['what'], node: string | undefined, detail: string, extra: Partial<ManagerEvent> = {}) =>
    history.append<ManagerEvent>({ type: 'manager', by: 'patroni', what, ...(node ? { node } : {}), detail, ...extra });
  const look = async () => {
    const live = members(cluster);
    const [states, leader] = await Promise.all([Promise.all(live.map(async (n) => [n, await restState(n)] as const)), leaderKey(cluster)]);
    if (leader !== undefined && leader !== holder) {
      if (leader === '') say('detected', holder, `the leader key /service/${SCOPE}/leader is gone from etcd: no member holds the leader lock (it was ${holder})`);
      else {
        // The key passed straight to another member between two reads (a replica watching it takes it
        // within milliseconds of its expiry): the old holder's lock ended no later than this read.
        if (holder) say('detected', holder, `the leader key /service/${SCOPE}/leader passed from ${holder} to ${leader} between two of faultline's reads: ${holder}'s lock had expired or been released`);
        say('said', leader, `${leader} took the leader lock in etcd${holder ? ` (held by ${holder} before)` : ''}`);
      }
      holder = leader || undefined;
    }
    // Where each candidate stood before this look: what Patroni compared when it chose.
    const before = Object.fromEntries(positions);
    for (const [node, state] of states) {
      const previous = last.get(node.name);
      if (state.role === undefined) continue;
      last.set(node.name, state);
      if (state.position !== undefined) positions.set(node.name, state.position);
      if (previous && (previous.role !== state.role || previous.state !== state.state || previous.streaming !== state.streaming)) {
        say('said', node.name, `${previous.said} → ${state.said.slice(node.name.length + 2)}`);
      }
      if (state.role === 'primary' && previous && previous.role !== 'primary') {
        if (node !== cluster.primary()) promoted(node, state, before);
        // Demoted (it lost the DCS) and promoted again: the same server, on a new timeline.
        else history.append<RoleEvent>({ type: 'role', node: node.name, role: 'primary', by: 'patroni', previous: node.name, detail: `Patroni promoted ${node.name} again: ${state.said}` });
      }
      // Demoted: no longer primary ('demoted' while it stops, then 'replica'), recorded once.
      if (state.role !== 'primary' && previous?.role === 'primary') {
        history.append<RoleEvent>({ type: 'role', node: node.name, role: 'replica', by: 'patroni', detail: `Patroni demoted ${node.name}: ${state.said}` });
      }
      if (node.role === 'retired' && state.role === 'replica' && state.streaming) node.role = 'replica';
    }
  };
  const promoted = (node: PostgresNodeHandle, state: MemberState, before: Record<string, number>) => {
    const previous = cluster.primary();
    const candidates = Object.fromEntries(Object.entries(before).filter(([name]) => name !== previous.name && !cluster.node(name).lost));
    say('chose', node.name, `Patroni promoted ${node.name}${state.timeline ? ` (timeline ${state.timeline})` : ''}; positions last reported by the candidates`, { positions: candidates });
    history.append<RoleEvent>({ type: 'role', node: node.name, role: 'primary', by: 'patroni', previous: previous.name, detail: state.said });
    cluster.setPrimary(node);
    log(`patroni: ${node.name} is the primary now (was ${previous.name})`);
  };
  await look();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (!stopped) await look().catch(() => {});
    }
  })();
  return {
    settle: (timeoutMs) => settle(cluster, timeoutMs),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

async function settle(cluster: StartedPostgresCluster, timeoutMs: number): Promise<{ settled: boolean; detail: string }> {
  let last = '';
  try {
    const detail = await waitFor({ what: 'Patroni to settle', timeoutMs, intervalMs: 250 }, async (seen) => {
      const live = members(cluster);
      const [states, leader] = await Promise.all([Promise.all(live.map((n) => restState(n))), leaderKey(cluster)]);
      const primary = cluster.primary();
      last = `leader key: ${leader === undefined ? 'etcd did not answer' : leader || 'none'}; ${states.map((s) => s.said).join(', ')}`;
      seen(last);
      const running = (i: number, role: string) => states[i]!.role === role && states[i]!.state === 'running';
      const settled = leader === primary.name && live.every((n, i) => (n === primary ? running(i, 'primary') : running(i, 'replica') && states[i]!.streaming));
      if (!settled) return undefined;
      // A deposed primary that streams from the leader again is a replica (read and compared as one).
      for (const node of live) if (node !== primary) node.role = 'replica';
      return last;
    });
    return { settled: true, detail };
  } catch {
    return { settled: false, detail: last || 'Patroni could not be read' };
  }
}

/** The manager-stop fault under Patroni: Patroni (or the node's etcd member) frozen (SIGSTOP) or killed; PostgreSQL runs on. */
function stopPatroni(node: PostgresNodeHandle, how: 'pause' | 'kill', part: StopPart): Promise<{ detail: string; heal: () => Promise<string> }> {
  const [name, pattern, start] = part === 'dcs' ? ['etcd', ETCD_PROCESS, 'etcd'] : ['Patroni', PATRONI_PROCESS, 'start'];
  return stopMemberProcess(node, how, {
    label: name,
    match: { pattern },
    restart: async () => {
      await node.run(['fl-patroni', start]);
      return `started ${name} on ${node.name} again`;
    },
  });
}

/** What a runbook gets to drive Patroni, as an operator would: patronictl in a surviving member, each member's REST API, HAProxy. */
export function patroniRunbookContext(cluster: StartedPostgresCluster) {
  if (!cluster.patroni) return undefined;
  const alive = members(cluster);
  const { proxy } = cluster.patroni;
  return {
    name: 'patroni',
    scope: SCOPE,
    // patronictl with the member's own configuration; run as `docker exec -u postgres <container> patronictl -c <config> …`.
    patronictl: alive[0] ? { container: containerName(alive[0]), config: PATRONI_CONF } : null,
    members: alive.map((n) => ({ node: n.name, container: containerName(n), restApi: `http://${n.container.getHost()}:${n.container.getMappedPort(REST_PORT)}` })),
    haproxy: { node: PROXY_NODE, host: proxy.container.getHost(), port: proxy.container.getMappedPort(PROXY_PORT) },
  };
}
