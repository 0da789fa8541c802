// `faultline validate --sentinel-conf`: the user's Sentinel settings (and their servers' redis.conf)
// on a Redis primary and two replicas with a Sentinel beside each, under the failures an HA manager
// exists for. faultline performs no failover in these drills: Sentinel does, and the run's checks
// (lost-writes, split-brain, manager-acted, failover-choice) are the evidence.

import { ConfigError } from '../errors.ts';
import { validateTopology, type RedisConfFile, type RedisTopology, type RedisTopologySpec } from '../engines/index.ts';
import { readRedisConf, readSentinelConf, sentinelTopology } from '../engines/index.ts';
import type { ExperimentResult } from '../experiment/index.ts';
import { drillEvidence, leadingCheck } from './explain.ts';
import type { ValidateDrill } from './drills.ts';
import type { SentinelUserConfig } from './rules/sentinel.ts';
import type { Finding } from './rules/types.ts';
import { readTopologyFile, shown } from './user-config.ts';

export const SENTINEL_DRILL_NAMES = ['ha-isolated-primary', 'ha-stalled-primary', 'ha-san-lost'];

export interface SentinelFiles {
  sentinelConf: string;
  redisConf?: string;
  topology?: string;
}

export interface LoadedSentinelConfig {
  config: SentinelUserConfig;
  spec: RedisTopologySpec;
  topology: RedisTopology;
  assumptions: string[];
}

/** The server directives of redis.conf as the topology's, with where each came from. */
function serverSettings(redis: RedisConfFile | undefined): Partial<RedisTopologySpec['redis']> {
  if (!redis) return {};
  const s = redis.server;
  return {
    ...(s.appendonly !== undefined ? { appendonly: s.appendonly } : {}),
    ...(s.appendfsync !== undefined ? { appendfsync: s.appendfsync } : {}),
    ...(s.save !== undefined ? { save: s.save } : {}),
    ...(s.minReplicasToWrite !== undefined ? { minReplicasToWrite: s.minReplicasToWrite } : {}),
    ...(s.minReplicasMaxLag !== undefined ? { minReplicasMaxLag: s.minReplicasMaxLag } : {}),
  };
}

export function loadSentinelConfig(files: SentinelFiles): LoadedSentinelConfig {
  const sentinel = readSentinelConf(files.sentinelConf, shown(files.sentinelConf));
  const redis = files.redisConf ? readRedisConf(files.redisConf, shown(files.redisConf)) : undefined;
  const assumptions: string[] = [];
  const given = (files.topology ? readTopologyFile(files.topology) : sentinelTopology()) as unknown as RedisTopologySpec;
  if (files.topology && (typeof given !== 'object' || given === null || typeof given.redis !== 'object' || given.redis === null)) {
    throw new ConfigError(`topology file '${files.topology}' has no 'redis' section: --sentinel-conf drills a Redis (or Valkey) cluster, so describe its nodes under "redis" (see 'faultline schema')`);
  }
  if (!files.topology) assumptions.push('a Redis primary and two replicas, each in a failure domain of its own (san-a, san-b, san-c) with a Sentinel beside it, clients asking the Sentinels for the primary, as no --topology was given');
  assumptions.push(`the Sentinels monitor '${sentinel.masterName}' as faultline's primary: its address in ${sentinel.file} is not used`);
  if (sentinel.otherMasters.length > 0) assumptions.push(`${sentinel.file} also monitors ${sentinel.otherMasters.map((m) => `'${m}'`).join(', ')}: not drilled, only '${sentinel.masterName}'`);
  if (sentinel.parallelSyncs !== undefined && sentinel.parallelSyncs !== 1) assumptions.push(`parallel-syncs ${sentinel.parallelSyncs} (${sentinel.sources.parallelSyncs}) runs as 1: the drills have two replicas`);
  if (!redis) assumptions.push("no --redis-conf: the servers run Redis's defaults (appendonly no, the default save points, min-replicas-to-write 0)");
  else if (redis.ignored.length > 0) assumptions.push(`${redis.file}: ${redis.ignored.join(', ')} not drilled (the host's own settings: the drills run faultline's ports, paths and users)`);
  const spec: RedisTopologySpec = {
    ...given,
    redis: {
      ...given.redis,
      ...serverSettings(redis),
      ha: { manager: 'sentinel', quorum: sentinel.ha.quorum, ...(sentinel.ha.downAfterMs !== undefined ? { downAfterMs: sentinel.ha.downAfterMs } : {}), ...(sentinel.ha.failoverTimeoutMs !== undefined ? { failoverTimeoutMs: sentinel.ha.failoverTimeoutMs } : {}) },
      ...(redis && Object.keys(redis.settings).length > 0 ? { settings: { ...given.redis.settings, ...redis.settings } } : {}),
    },
  };
  const topology = validateTopology(spec, files.topology ? `topology file '${files.topology}' with ${sentinel.file}` : `the default topology with ${sentinel.file}`) as RedisTopology;
  const ha = topology.redis.ha!;
  if (ha.defaulted.length > 0) {
    assumptions.push(`${sentinel.file} does not set ${ha.defaulted.map((d) => d.split(' (')[0]!.replace(/ \d+$/, '')).join(', ')}: the drills run faultline's values for short drills (${ha.defaulted.join(', ')}), not Sentinel's defaults (down-after-milliseconds 30000, failover-timeout 180000), so Sentinel acts sooner in them than it would on your servers`);
  }
  return { config: { sentinel, ...(redis ? { redis } : {}) }, spec, topology, assumptions };
}

/** The drills on the user's topology under Sentinel, their lengths from its down-after-milliseconds. */
export function sentinelDrills(spec: RedisTopologySpec, topology: RedisTopology, options: { rpoBudgetMs?: number } = {}): ValidateDrill[] {
  const nodes = spec.redis.nodes;
  const primary = nodes.find((n) => n.role === 'primary')!;
  const replicas = nodes.filter((n) => n.role === 'replica');
  const budget = options.rpoBudgetMs;
  const base = { topology: spec, expect: { maxLostWrites: budget === undefined ? 0 : Number.MAX_SAFE_INTEGER, ...(budget !== undefined ? { rpoBudget: budget } : {}) } };
  const ha = topology.redis.ha!;
  // Long enough for the Sentinels to find the primary down and elect a leader that fails over.
  const outMs = ha.downAfterMs + 4000;
  const workload = (ms: number) => ({ clients: 4, duration: `${ms}ms`, rate: 2000 });
  const sameDomain = replicas.some((r) => r.domain === primary.domain) ? `a replica shares the primary's domain '${primary.domain}': it would be lost with it` : undefined;
  return [
    {
      name: 'ha-isolated-primary',
      title: `the primary is cut off from its replicas and their Sentinels for ${outMs / 1000} s, not from its clients`,
      definition: {
        ...base,
        name: 'validate-ha-isolated-primary',
        description: `The primary is cut off from its replicas and the other Sentinels for ${outMs} ms (down-after-milliseconds + 4 s), not from its clients: the Sentinels that still see each other promote a replica, and what the old primary acknowledged meanwhile is discarded when it is made a replica`,
        workload: workload(1500 + outMs + 2500),
        faults: replicas.map((r) => ({ at: '1500ms', fault: 'partition', target: `${primary.name}~${r.name}`, duration: `${outMs}ms` })),
      },
    },
    {
      name: 'ha-stalled-primary',
      title: `the primary's volume stalls for ${outMs / 1000} s`,
      definition: {
        ...base,
        name: 'validate-ha-stalled-primary',
        description: `The primary's volume stalls for ${outMs} ms (down-after-milliseconds + 4 s): the Sentinels find it down and promote a replica; when the stall ends the old primary serves its clients again until Sentinel makes it a replica`,
        workload: workload(1500 + outMs + 2500),
        faults: [{ at: '1500ms', fault: 'io-stall', target: 'primary', duration: `${outMs}ms` }],
      },
    },
    {
      name: 'ha-san-lost',
      title: `the primary's whole failure domain ('${primary.domain}') is lost; Sentinel fails over`,
      unavailable: sameDomain,
      definition: {
        ...base,
        name: 'validate-ha-san-lost',
        description: "The primary's failure domain is lost with everything in it (its Sentinel too); the remaining Sentinels find it down and promote a replica",
        workload: workload(2000 + outMs + 3000),
        faults: [{ at: '2s', fault: 'domain-loss', target: `domain:${primary.domain}` }],
      },
    },
  ];
}

/** Checks in the order a user cares about: the first failing one is what the sentence says. */
const ORDER = ['availability', 'lost-writes', 'rpo', 'split-brain', 'manager-acted', 'failover-choice', 'integrity', 'anomalies', 'replica-parity', 'faults-applied'];

/** Why a Sentinel drill failed, in one sentence, from what its checks recorded. */
export function explainSentinelDrill(result: ExperimentResult, findings: Finding[]): string {
  const lead = leadingCheck(result, ORDER);
  if ('couldNotRun' in lead) return lead.couldNotRun;
  const { first, what } = lead;
  const evidence = drillEvidence(result);
  const split = evidence.check('split-brain');
  const deposed = split?.status === 'fail' ? split.summary.replace(/^two primaries acknowledged writes at once: /, '') : undefined;
  const isolated = findings.find((f) => f.rule === 'sentinel-isolated-primary-writes');
  // A split brain that is itself the first failing check is already the whole sentence.
  if (deposed && first.name === 'split-brain') return what;
  if (deposed) return isolated ? `${what}: ${isolated.message}, and ${deposed}` : `${what}: ${deposed}`;
  const promotions = (evidence.check('manager-acted')?.details.promotions ?? []) as Array<{ node: string; previous?: string }>;
  if (evidence.lost > 0 && promotions.length > 0) return `${what}: Sentinel promoted ${promotions[0]!.node}${promotions[0]!.previous ? ` in place of ${promotions[0]!.previous}` : ''} without them`;
  return what;
}
