// Redis under its own HA manager, Sentinel: one Sentinel beside each of three servers, clients that
// ask the Sentinels where the primary is (ioredis's Sentinel support), and faultline performing no
// failover: it watches what Sentinel does, and the checks say what it cost.

import { join } from 'node:path';
import { defineExperiment, type ExperimentDefinition } from '../harness/experiment/definition.ts';
import { PACKAGE_ROOT } from '../harness/package-root.ts';
import { sentinelTopology as threeWithSentinels, type RedisTopologySpec } from '../harness/engines/redis/index.ts';

type RedisSection = RedisTopologySpec['redis'];

/** The engine's Sentinel cluster (a Sentinel beside each of three servers), with an AOF fsynced every second. */
export function sentinelTopology(extra: Partial<RedisSection> = {}): RedisTopologySpec {
  return threeWithSentinels({ appendonly: true, appendfsync: 'everysec', ...extra });
}

/**
 * The primary is cut off from its replicas and from the other two Sentinels, but not from its
 * clients: the two Sentinels that still see each other fail over, and the clients already connected
 * to the old primary go on writing to it until the cut heals and Sentinel turns it into a replica.
 */
const isolatePrimary = [
  { at: '1500ms', fault: 'partition', target: 'redis-primary~redis-replica-a', duration: '6s' },
  { at: '1500ms', fault: 'partition', target: 'redis-primary~redis-replica-b', duration: '6s' },
] as const;

export const sentinelHealthy = defineExperiment({
  name: 'sentinel-healthy',
  description: 'Redis with three Sentinels and clients that ask them for the primary, no fault: every acknowledged write is there, and Sentinel changes nothing',
  topology: sentinelTopology(),
  workload: { clients: 4, duration: '4s', rate: 2000 },
  expect: { maxLostWrites: 0 },
});

/** The primary cut off (isolatePrimary) under a workload that outlasts the cut. */
function isolatedPrimary(name: string, description: string, topology: RedisTopologySpec, shows: NonNullable<ExperimentDefinition['shows']>): ExperimentDefinition {
  return defineExperiment({ name, description, topology, workload: { clients: 4, duration: '10s', rate: 2000 }, faults: [...isolatePrimary], expect: { maxLostWrites: 0 }, shows });
}

export const sentinelIsolatedPrimary = isolatedPrimary(
  'sentinel-isolated-primary',
  'The primary is cut off from its replicas and the other Sentinels for 6 s, not from its clients: Sentinel promotes a replica while the old primary keeps acknowledging writes, which are lost when it is made a replica (the classic split brain)',
  sentinelTopology(),
  { failing: ['lost-writes', 'split-brain'], why: 'min-replicas-to-write 0: the deposed primary takes writes for as long as its clients reach it, and Sentinel discards them when it returns' },
);

export const sentinelIsolatedPrimaryMinReplicas = isolatedPrimary(
  'sentinel-isolated-primary-min-replicas',
  'The same cut with min-replicas-to-write 1 and min-replicas-max-lag 1: the isolated primary refuses writes once no replica has acknowledged for a second, so what is lost is bounded by that lag',
  sentinelTopology({ minReplicasToWrite: 1, minReplicasMaxLag: 1 }),
  { failing: ['lost-writes'], why: 'asynchronous replication: writes acknowledged in the last second before the primary noticed it had no replica are lost', always: false },
);

export const sentinelStalledPrimary = defineExperiment({
  name: 'sentinel-stalled-primary',
  description:
    "The primary's volume stalls for 6 s, three times down-after-milliseconds: Sentinel fails over, and when the stall ends the old primary acknowledges its clients' writes again until Sentinel makes it a replica",
  topology: sentinelTopology(),
  workload: { clients: 4, duration: '10s', rate: 2000 },
  faults: [{ at: '1500ms', fault: 'io-stall', target: 'primary', duration: '6s' }],
  expect: { maxLostWrites: 0 },
  shows: {
    failing: ['lost-writes', 'split-brain'],
    why: 'the stalled primary stops answering, Sentinel promotes a replica, and when the stall ends the old primary serves its clients again until Sentinel turns it into a replica, discarding what it acknowledged meanwhile',
  },
});

export const sentinelStoppedThenCrash = defineExperiment({
  name: 'sentinel-stopped-then-crash',
  description:
    "The Sentinels beside both replicas stop (one frozen, one killed), then the primary's server dies: no quorum can find it down until they are back, so writes are refused for as long as the Sentinels are out; then Sentinel fails over",
  topology: sentinelTopology(),
  workload: { clients: 4, duration: '12s', rate: 2000, wait: { replicas: 1, timeout: '500ms' } },
  faults: [
    { at: '1s', fault: 'manager-stop', target: 'redis-replica-a', duration: '4s', params: { how: 'pause' } },
    { at: '1s', fault: 'manager-stop', target: 'redis-replica-b', duration: '4s', params: { how: 'kill' } },
    { at: '2s', fault: 'process-crash', target: 'primary', params: { restart: 'no' } },
  ],
  expect: { maxLostWrites: 0 },
});

/**
 * A planned failover under load, driven by the user's runbook with Sentinel's own command
 * (examples/runbooks/sentinel-failover.sh: SENTINEL FAILOVER). Sentinel promotes a replica without
 * stopping the old primary, and reconfigures it as a replica only seconds later (+convert-to-slave,
 * 10 s after +switch-master in seed 1): what it acknowledged in between, to the clients still
 * connected to it, is lost (redis#6062, "Triggering manual failover causes write loss").
 */
export const sentinelFailoverRunbook = defineExperiment({
  name: 'sentinel-failover-runbook',
  description:
    "A planned failover under load, driven by the user's runbook with Sentinel's own command (examples/runbooks/sentinel-failover.sh: SENTINEL FAILOVER): Sentinel promotes a replica, then makes the old primary its replica; what the old primary acknowledged in between is lost",
  topology: sentinelTopology(),
  workload: { clients: 4, duration: '8s', rate: 2000 },
  recovery: { at: '2s', try: ['runbook'], runbook: { command: `'${join(PACKAGE_ROOT, 'examples', 'runbooks', 'sentinel-failover.sh')}'`, budget: '60s' } },
  expect: { maxLostWrites: 0 },
  shows: {
    failing: ['lost-writes', 'split-brain'],
    why: 'SENTINEL FAILOVER promotes a replica while the old primary runs on as a primary: Sentinel makes it a replica only seconds later (+convert-to-slave), and the clients connected to it write there meanwhile; those writes are discarded',
  },
});

export const sentinelExperiments = [sentinelHealthy, sentinelIsolatedPrimary, sentinelIsolatedPrimaryMinReplicas, sentinelStalledPrimary, sentinelStoppedThenCrash, sentinelFailoverRunbook];
