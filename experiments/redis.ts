// Redis (and Valkey) experiments: each measures one documented guarantee of Redis persistence or
// replication (https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/ and
// .../replication/) instead of assuming it. The ones whose guarantee is a loss say so in `shows`:
// `faultline run --as-documented` holds them to it.

import { defineExperiment, type ExperimentDefinition } from '../harness/experiment/definition.ts';
import type { RedisTopologySpec } from '../harness/engines/redis/index.ts';

type RedisSection = RedisTopologySpec['redis'];

function primaryOnly(persistence: Omit<RedisSection, 'nodes'>): RedisTopologySpec {
  return { domains: ['san-a'], redis: { ...persistence, nodes: [{ name: 'redis-primary', role: 'primary', domain: 'san-a' }] } };
}

function withReplica(persistence: Omit<RedisSection, 'nodes'>): RedisTopologySpec {
  return {
    domains: ['san-a', 'san-b'],
    redis: {
      ...persistence,
      nodes: [
        { name: 'redis-primary', role: 'primary', domain: 'san-a' },
        { name: 'redis-replica', role: 'replica', domain: 'san-b' },
      ],
    },
  };
}

const crash = [{ at: '4s', fault: 'process-crash', target: 'primary', duration: '500ms' }] as const;

/** A run with no fault: every acknowledged write is there, on the primary and its replica. */
export const redisHealthy = defineExperiment({
  name: 'redis-healthy',
  description: 'Redis primary and replica with the AOF, no fault: every acknowledged write and append is there, in order',
  topology: withReplica({ appendonly: true, appendfsync: 'everysec' }),
  workload: { clients: 4, duration: '5s' },
  expect: { maxLostWrites: 0 },
});

/** Guarantee: with RDB snapshots only, a crash loses every write since the last snapshot. */
export const redisCrashRdb = defineExperiment({
  name: 'redis-crash-rdb',
  description: 'Kill Redis with only RDB snapshots (default save points): every write since the last snapshot is lost',
  topology: primaryOnly({ appendonly: false }),
  workload: { clients: 4, duration: '7s' },
  faults: [...crash],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['lost-writes'], why: 'RDB-only persistence: the restarted server loads the last snapshot, and none was due in the run (save points 3600 1 / 300 100 / 60 10000)' },
});

/**
 * Danger, rare: with appendfsync everysec, while the background fsync of the AOF is still running
 * Redis postpones writing its AOF buffer (up to 2 s) but still replies to clients, so a process
 * crash in that window loses writes already acknowledged: the kernel never had them. Seen here on
 * Redis 8.0 (one write, acknowledged 8 ms before the kill); most runs lose nothing.
 */
export const redisCrashAofEverysec = defineExperiment({
  name: 'redis-crash-aof-everysec',
  description: 'Kill Redis with the AOF fsynced every second: a crash while a background fsync runs can lose the last writes (up to 2 s) Redis had acknowledged but not yet written',
  topology: primaryOnly({ appendonly: true, appendfsync: 'everysec' }),
  workload: { clients: 4, duration: '7s' },
  faults: [...crash],
  expect: { maxLostWrites: 0 },
  shows: {
    failing: ['lost-writes'],
    why: 'appendfsync everysec: while a background fsync runs, Redis holds the AOF write back (up to 2 s) yet replies, so a crash then loses acknowledged writes',
    always: false,
  },
});

/** Guarantee: AOF with appendfsync always loses nothing to a crash. */
export const redisCrashAofAlways = defineExperiment({
  name: 'redis-crash-aof-always',
  description: 'Kill Redis with the AOF fsynced before every reply: nothing acknowledged is lost',
  topology: primaryOnly({ appendonly: true, appendfsync: 'always' }),
  workload: { clients: 4, duration: '7s' },
  faults: [...crash],
  expect: { maxLostWrites: 0 },
});

/**
 * Guarantee (replication docs): replication is asynchronous and WAIT does not make it strongly
 * consistent: a replica that fell behind is promoted, and what it never received is lost, though
 * the primary acknowledged it. WAIT's answer after each write says which ones were confirmed.
 */
export const redisFailoverAsync = defineExperiment({
  name: 'redis-failover-async',
  description: 'Promote a Redis replica that was cut off while the primary took writes (WAIT after each): acknowledged writes are lost',
  topology: withReplica({ appendonly: true, appendfsync: 'everysec' }),
  workload: { clients: 4, duration: '7s', wait: { replicas: 1, timeout: '50ms' } },
  faults: [
    { at: '1500ms', fault: 'partition', target: 'primary~replica', duration: '4s' },
    { at: '3500ms', fault: 'process-crash', target: 'primary', params: { restart: 'no' } },
  ],
  recovery: { at: '4s', try: ['failover'], rejoin: true },
  expect: { maxLostWrites: 0 },
  shows: { failing: ['lost-writes'], why: 'asynchronous replication: the promoted replica never received what the primary acknowledged while they were cut off; WAIT said so (0 replicas) but the writes were acknowledged all the same' },
});

/**
 * The documented pitfall (replication docs, "Safety of replication when master has persistence
 * turned off"): a primary without persistence restarts empty, and its replica, resynchronising,
 * empties itself too.
 */
export const redisEmptyRestart = defineExperiment({
  name: 'redis-empty-restart',
  description: 'A Redis primary with persistence off is restarted automatically: it comes back empty and its replica wipes itself to match',
  topology: withReplica({ appendonly: false, save: '' }),
  workload: { clients: 4, duration: '7s' },
  faults: [...crash],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['lost-writes'], why: 'persistence off: the restarted primary is empty, and the replica resynchronised to the empty data set (the pitfall the replication docs warn of)' },
});

/** Guarantee (persistence docs): a truncated AOF is loaded anyway (aof-load-truncated yes), without the commands in its torn tail. */
export const redisAofTruncated = defineExperiment({
  name: 'redis-aof-truncated',
  description: "A crash tears the AOF's tail: Redis starts anyway and the writes in the torn bytes are gone",
  topology: primaryOnly({ appendonly: true, appendfsync: 'always' }),
  workload: { clients: 4, duration: '6s' },
  faults: [{ at: '3s', fault: 'silent-corruption', target: 'primary', params: { kind: 'aof-tail', blocks: 4, bytes: 64 } }],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['lost-writes'], why: 'the commands in the cut bytes were acknowledged (appendfsync always), and Redis truncates the AOF to its last whole command when it loads it' },
});

/** Guarantee (persistence docs): an AOF with garbage in the middle is refused; redis-check-aof finds it. */
export const redisAofGarbage = defineExperiment({
  name: 'redis-aof-garbage',
  description: 'Garbage lands in the middle of the AOF: Redis refuses to start, and redis-check-aof reports where',
  topology: primaryOnly({ appendonly: true, appendfsync: 'everysec', settings: { 'aof-use-rdb-preamble': 'no' } }),
  workload: { clients: 4, duration: '6s' },
  faults: [{ at: '3s', fault: 'silent-corruption', target: 'primary', params: { kind: 'aof-middle', blocks: 1, bytes: 32 } }],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['integrity', 'restore-completed'], why: 'a damaged AOF is not loaded: the server refuses to start (so nothing can be read or written) until redis-check-aof --fix cuts everything after the damage, and redis-check-aof reports it' },
});

function sidekick(hardened: boolean): ExperimentDefinition {
  const domains = hardened ? ['san-a', 'san-b', 'backup-site'] : ['san-a'];
  return defineExperiment({
    name: hardened ? 'redis-sidekick-hardened' : 'redis-sidekick-naive',
    description: hardened
      ? 'Redis primary, replica and RDB backups in three failure domains; the primary SAN is lost; fail over, rehearse a restore'
      : 'Redis primary, replica and RDB backups on one SAN, which is lost: nothing is left to fail over to or restore',
    topology: {
      domains,
      redis: {
        appendonly: true,
        appendfsync: 'everysec',
        nodes: [
          { name: 'redis-primary', role: 'primary', domain: 'san-a' },
          { name: 'redis-replica', role: 'replica', domain: hardened ? 'san-b' : 'san-a' },
          { name: 'redis-backup', role: 'archive', domain: hardened ? 'backup-site' : 'san-a' },
        ],
      },
    },
    workload: { clients: 4, duration: '8s', wait: { replicas: 1, timeout: '100ms' } },
    faults: [{ at: '4s', fault: 'domain-loss', target: 'domain:san-a' }],
    recovery: { at: '4500ms', try: ['failover', 'restore'], restoreDomain: hardened ? 'backup-site' : 'san-a', ...(hardened ? { rehearseRestore: true } : {}) },
    // Replication is asynchronous: a write is acknowledged by SET before WAIT asks the replica, so
    // when the SAN goes each client may lose the one write it had in flight, never one that WAIT
    // had confirmed (a client records a write only once WAIT answered, or failed). Hence at most one
    // lost write per client.
    expect: hardened ? { maxLostWrites: 4, restoreMustComplete: true } : { maxLostWrites: 0 },
    ...(hardened
      ? {}
      : { shows: { failing: ['rto', 'restore-completed'], why: 'primary, replica and backups shared the SAN: losing it left no replica to promote and no RDB copy to restore, so the service never came back' } }),
  });
}

export const redisSidekickNaive = sidekick(false);
export const redisSidekickHardened = sidekick(true);

const powerCut = [{ at: '4s', fault: 'power-loss', target: 'primary', duration: '500ms' }] as const;

/** Guarantee: appendfsync always fsyncs the AOF before replying, so a power loss loses nothing acknowledged. */
export const redisPowerLossAlways = defineExperiment({
  name: 'redis-power-loss-always',
  description: 'Cut the power under Redis with appendfsync always: nothing acknowledged is lost',
  topology: primaryOnly({ appendonly: true, appendfsync: 'always' }),
  workload: { clients: 4, duration: '7s' },
  faults: [...powerCut],
  expect: { maxLostWrites: 0 },
});

/** Guarantee: appendfsync everysec may lose about a second of writes to a power loss (not to a crash). */
export const redisPowerLossEverysec = defineExperiment({
  name: 'redis-power-loss-everysec',
  description: 'Cut the power under Redis with appendfsync everysec: about the last second of acknowledged writes is lost',
  topology: primaryOnly({ appendonly: true, appendfsync: 'everysec' }),
  workload: { clients: 4, duration: '7s' },
  faults: [...powerCut],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['lost-writes'], why: 'appendfsync everysec fsyncs the AOF once a second: what was acknowledged since is only in the page cache' },
});

/** Guarantee: appendfsync no leaves flushing to the kernel; a power loss takes whatever it had not flushed. */
export const redisPowerLossNo = defineExperiment({
  name: 'redis-power-loss-no',
  description: 'Cut the power under Redis with appendfsync no: every acknowledged write the kernel had not flushed is lost',
  topology: primaryOnly({ appendonly: true, appendfsync: 'no' }),
  workload: { clients: 4, duration: '7s' },
  faults: [...powerCut],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['lost-writes'], why: 'appendfsync no never fsyncs the AOF: writes not yet flushed by the kernel are lost with the power' },
});

export const redisExperiments: ExperimentDefinition[] = [
  redisSidekickNaive,
  redisSidekickHardened,
  redisCrashRdb,
  redisCrashAofEverysec,
  redisCrashAofAlways,
  redisPowerLossAlways,
  redisPowerLossEverysec,
  redisPowerLossNo,
  redisFailoverAsync,
  redisEmptyRestart,
  redisAofTruncated,
  redisAofGarbage,
  redisHealthy,
];
