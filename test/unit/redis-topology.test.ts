// Redis topologies and Redis-only experiment options: checked before anything starts, with errors
// that say what was wrong and how to fix it.

import { describe, expect, it } from 'vitest';
import { pinVersions, validateTopology } from '../../harness/engines/registry.ts';
import { validatePostgresTopology } from '../../harness/engines/postgres/index.ts';
import { REDIS_DEFAULT_SAVE, type RedisTopology } from '../../harness/engines/redis/index.ts';
import { prepareExperiment, type ExperimentDefinition } from '../../harness/experiment/definition.ts';
import { planFaults } from '../../harness/experiment/schedule.ts';
import { redisHealthy } from '../../experiments/redis.ts';

const redis = (section: Record<string, unknown>) => ({
  domains: ['san-a', 'san-b'],
  redis: { nodes: [{ name: 'redis-primary', role: 'primary', domain: 'san-a' }, { name: 'redis-replica', role: 'replica', domain: 'san-b' }], ...section },
});

describe('a Redis topology', () => {
  it("keeps Redis's own persistence defaults unless told otherwise", () => {
    const topology = validateTopology(redis({})) as RedisTopology;
    expect(topology.engine).toBe('redis');
    if (topology.engine !== 'redis') return;
    expect(topology.redis).toMatchObject({ server: 'redis', appendonly: false, appendfsync: 'everysec', save: REDIS_DEFAULT_SAVE, minReplicasToWrite: 0 });
    expect(topology.nodes.map((n) => n.role)).toEqual(['primary', 'replica']);
  });

  it('takes valkey, the AOF settings, no snapshots and extra directives', () => {
    const topology = validateTopology(redis({ engine: 'valkey', appendonly: true, appendfsync: 'always', save: '', settings: { 'aof-use-rdb-preamble': false } })) as RedisTopology;
    if (topology.engine !== 'redis') throw new Error('not redis');
    expect(topology.redis).toMatchObject({ server: 'valkey', appendonly: true, appendfsync: 'always', save: '' });
    expect(topology.redis.settings).toEqual([{ name: 'aof-use-rdb-preamble', value: 'no' }]);
  });

  it('refuses a bad value with its path and what to write instead', () => {
    expect(() => validateTopology(redis({ appendfsync: 'sometimes' }))).toThrow(/redis\.appendfsync.*'sometimes' is not valid: use 'always', 'everysec' or 'no'/s);
    expect(() => validateTopology(redis({ save: 'every minute' }))).toThrow(/"seconds changes" pairs/);
    expect(() => validateTopology(redis({ engine: 'keydb' }))).toThrow(/use 'redis' or 'valkey'/);
  });

  it("takes Sentinel as the HA manager, with faultline's short-drill defaults named, and refuses one that could never fail over", () => {
    const topology = validateTopology(redis({ ha: { manager: 'sentinel' }, minReplicasToWrite: 1, minReplicasMaxLag: 2 })) as RedisTopology;
    expect(topology.redis.ha).toEqual({ manager: 'sentinel', quorum: 2, downAfterMs: 2000, failoverTimeoutMs: 5000, defaulted: ['quorum 2 (a majority)', 'down-after-milliseconds 2000', 'failover-timeout 5000'] });
    expect(topology.redis).toMatchObject({ minReplicasToWrite: 1, minReplicasMaxLag: 2 });
    expect((validateTopology(redis({})) as RedisTopology).redis.minReplicasMaxLag).toBe(10);
    const own = validateTopology(redis({ ha: { manager: 'sentinel', quorum: 1, downAfterMs: 5000, failoverTimeoutMs: 60000 } })) as RedisTopology;
    expect(own.redis.ha).toEqual({ manager: 'sentinel', quorum: 1, downAfterMs: 5000, failoverTimeoutMs: 60000, defaulted: [] });
    expect(() => validateTopology(redis({ ha: { manager: 'sentinel', quorum: 3 } }))).toThrow(/'redis\.ha\.quorum' 3 is more than the 2 Sentinels faultline runs \(one beside each server\): no failover could ever be agreed/);
    expect(() => validateTopology({ domains: ['san-a'], redis: { nodes: [{ name: 'redis-primary', role: 'primary', domain: 'san-a' }], ha: { manager: 'sentinel' } } })).toThrow(/'redis\.ha' needs a primary and at least one replica/);
    expect(() => validateTopology(redis({ ha: { manager: 'patroni' } }))).toThrow(/'redis\.ha\.manager' 'patroni' is not a manager faultline runs: use 'sentinel'/);
    // 0 is Redis's own lower bound (a replica counts only in the second it acknowledged); below it is refused.
    expect((validateTopology(redis({ minReplicasMaxLag: 0 })) as RedisTopology).redis.minReplicasMaxLag).toBe(0);
    expect(() => validateTopology(redis({ minReplicasMaxLag: -1 }))).toThrow(/minReplicasMaxLag/);
    const failover: ExperimentDefinition = { name: 'x', description: 'x', topology: redis({ ha: { manager: 'sentinel' } }) as ExperimentDefinition['topology'], recovery: { at: '1s', try: ['failover'] } };
    // The manager-stop fault needs a manager to stop.
    const stop = (topology: ExperimentDefinition['topology']): ExperimentDefinition => ({ name: 'x', description: 'x', topology, faults: [{ at: '1s', fault: 'manager-stop', target: 'redis-replica', duration: '1s' }] });
    expect(() => prepareExperiment(stop(redis({}) as ExperimentDefinition['topology']))).toThrow(/manager-stop.*the topology has no HA manager to stop \(redis\.ha or postgres\.ha\)/s);
    const managed = validateTopology(redis({ ha: { manager: 'sentinel' } }));
    expect(planFaults([{ at: '1s', fault: 'manager-stop', target: 'redis-replica', params: { how: 'kill' } }], managed, 1, 5000)[0]!.params.how).toBe('kill');
    expect(() => planFaults([{ at: '1s', fault: 'manager-stop', target: 'redis-replica', params: { how: 'nap' } }], managed, 1, 5000)).toThrow(/one of pause, kill/);
    expect(() => prepareExperiment(failover)).toThrow(/recovery\.try lists 'failover', but the topology's HA manager \(sentinel\) fails over, not faultline: remove 'failover'/);
  });

  it('refuses a topology with both engines, or with neither', () => {
    expect(() => validateTopology({ ...redis({}), postgres: { nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }] } })).toThrow(/'postgres' or 'redis', not both/);
    expect(() => validateTopology({ domains: ['san-a'] })).toThrow(/needs 'postgres' or 'redis'/);
  });

  it('is refused where only PostgreSQL will do', () => {
    expect(() => validatePostgresTopology(redis({}))).toThrow(/needs a PostgreSQL topology/);
  });

  it('checks node names and domains as a PostgreSQL topology does', () => {
    expect(() => validateTopology({ domains: ['san-a'], redis: { nodes: [{ name: 'redis-primary', role: 'primary', domain: 'elsewhere' }] } })).toThrow(/failure domain "elsewhere"|'elsewhere'/);
    expect(() => validateTopology({ domains: ['san-a'], redis: { nodes: [{ name: 'r1', role: 'replica', domain: 'san-a' }] } })).toThrow(/without a primary/);
  });
});

describe('Redis experiment options', () => {
  it('turn WAIT into milliseconds, and refuse WAITAOF on Redis 7.0 (accept it on Redis 8) and WAIT on PostgreSQL', () => {
    const experiment = prepareExperiment({ ...redisHealthy, workload: { wait: { replicas: 1, timeout: '250ms' } } });
    expect(experiment.workload.wait).toEqual({ replicas: 1, timeoutMs: 250 });
    const onRedis = (version: number): ExperimentDefinition => ({ ...redisHealthy, topology: pinVersions(redisHealthy.topology, { redis: version }) as ExperimentDefinition['topology'] });
    expect(() => prepareExperiment({ ...onRedis(7), workload: { waitAof: { local: 1, replicas: 0 } } })).toThrow(/WAITAOF, which Redis 7 lacks \(it came in 7\.2\)/);
    expect(prepareExperiment({ ...onRedis(8), workload: { waitAof: { local: 1, replicas: 0 } } }).workload.waitAof).toEqual({ local: 1, replicas: 0, timeoutMs: 1000 });
    expect(() =>
      prepareExperiment({ name: 'pg-wait', description: 'x', topology: { domains: ['a1'], postgres: { nodes: [{ name: 'pg', role: 'primary', domain: 'a1' }] } }, workload: { wait: { replicas: 1 } } }),
    ).toThrow(/workload\.wait is a Redis \/ Valkey option/);
  });

  it('take a runbook (the engine hands it the servers, and the Sentinels under Sentinel), and refuse a PostgreSQL corruption kind', () => {
    expect(() => prepareExperiment({ ...redisHealthy, recovery: { at: '1s', try: ['runbook'], runbook: { command: './x.sh' } } })).not.toThrow();
    const topology = validateTopology(redisHealthy.topology);
    expect(() => planFaults([{ at: '1s', fault: 'silent-corruption', target: 'primary', params: { kind: 'heap' } }], topology, 1, 5000)).toThrow(/no corruption kind 'heap': use aof-tail, aof-middle, rdb/);
    expect(planFaults([{ at: '1s', fault: 'silent-corruption', target: 'primary', params: { kind: 'aof-middle' } }], topology, 1, 5000)[0]!.params.kind).toBe('aof-middle');
  });
});
