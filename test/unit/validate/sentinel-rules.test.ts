// The user's sentinel.conf and redis.conf as `faultline validate --sentinel-conf` reads them
// (settings with their lines, Redis's quoting and old directive names, the host's own directives set
// aside), the topology they make, the drills' lengths from down-after-milliseconds, Sentinel's
// preflight rules, and the one-sentence reason of a failed drill. No containers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRedisConf, readSentinelConf } from '../../../harness/engines/redis/index.ts';
import { explainSentinelDrill, loadSentinelConfig, runRules, sentinelDrills, sentinelRules } from '../../../harness/validate/index.ts';
import type { ExperimentResult } from '../../../harness/experiment/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'faultline-sentinel-'));
const SAMPLES = join(import.meta.dirname, '../../../experiments/sentinel-configs');
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const SENTINEL = file('sentinel.conf', ['port 26379', 'sentinel monitor mymaster 10.0.0.1 6379 2', '# a comment', 'sentinel down-after-milliseconds mymaster 5000', 'sentinel failover-timeout other 1000', 'sentinel monitor other 10.0.0.2 6379 1', 'sentinel parallel-syncs mymaster 3', ''].join('\n'));
const rulesOf = (sentinelConf: string, redisConf?: string) =>
  runRules(loadSentinelConfig({ sentinelConf, ...(redisConf ? { redisConf } : {}) }).config, sentinelRules).map((f) => `${f.severity} ${f.rule}: ${f.message} @${f.source?.line ?? '-'}`);

describe("the user's sentinel.conf and redis.conf", () => {
  it("reads the first monitored primary's quorum and timings, with their lines", () => {
    const conf = readSentinelConf(SENTINEL, 's.conf');
    expect(conf).toMatchObject({ masterName: 'mymaster', ha: { quorum: 2, downAfterMs: 5000 }, parallelSyncs: 3, otherMasters: ['other'] });
    expect(conf.sources).toEqual({ quorum: 's.conf:2', downAfterMs: 's.conf:4', parallelSyncs: 's.conf:7' });
  });

  it("reads redis.conf as Redis does: quotes, old names, save lines adding up and save \"\" clearing them", () => {
    const conf = readRedisConf(file('r.conf', ['bind 0.0.0.0', 'appendonly "yes"', 'APPENDFSYNC always', 'save 900 1', 'save 300 10', 'min-slaves-to-write 1', 'min-slaves-max-lag 2', 'repl-diskless-sync no', 'requirepass secret', ''].join('\n')), 'r.conf');
    expect(conf.server).toEqual({ appendonly: true, appendfsync: 'always', save: '900 1 300 10', minReplicasToWrite: 1, minReplicasMaxLag: 2 });
    expect(conf.sources).toMatchObject({ appendonly: 'r.conf:2', save: 'r.conf:4', minReplicasToWrite: 'r.conf:6' });
    expect(conf.settings).toEqual({ 'repl-diskless-sync': 'no' });
    expect(conf.ignored).toEqual(['bind', 'requirepass']);
    expect(readRedisConf(file('n.conf', 'save 60 1\nsave ""\n')).server.save).toBe('');
  });

  it('refuses what it cannot read, naming the file and line and how to fix it', () => {
    expect(() => readSentinelConf(file('none.conf', 'port 26379\n'), 'none.conf')).toThrow(/^none\.conf: no 'sentinel monitor <name> <host> <port> <quorum>' line/);
    expect(() => readSentinelConf(file('q.conf', 'sentinel monitor m 1.2.3.4 6379 many\n'), 'q.conf')).toThrow("q.conf:1: 'sentinel monitor' quorum (its fifth word) must be a whole number of at least 1, got 'many'");
    expect(() => readRedisConf(file('a.conf', 'appendonly maybe\n'), 'a.conf')).toThrow("a.conf:1: appendonly must be yes or no, got 'maybe'");
    expect(() => readRedisConf(file('s.conf', 'save 60\n'), 's.conf')).toThrow(/s\.conf:1: save takes "seconds changes" pairs/);
    expect(() => readRedisConf(join(dir, 'missing.conf'))).toThrow(/Cannot read Redis configuration/);
  });

  it("builds the drills' topology from the files, naming what it assumed and what it set aside", () => {
    const redis = file('redis.conf', 'appendonly yes\nmin-replicas-to-write 1\nmin-replicas-max-lag 1\naof-use-rdb-preamble no\ndir /var/lib/redis\n');
    const loaded = loadSentinelConfig({ sentinelConf: SENTINEL, redisConf: redis });
    expect(loaded.topology.redis).toMatchObject({ appendonly: true, minReplicasToWrite: 1, minReplicasMaxLag: 1, ha: { manager: 'sentinel', quorum: 2, downAfterMs: 5000, failoverTimeoutMs: 5000, defaulted: ['failover-timeout 5000'] } });
    expect(loaded.topology.redis.settings).toContainEqual({ name: 'aof-use-rdb-preamble', value: 'no' });
    expect(loaded.assumptions.join('\n')).toMatch(/also monitors 'other': not drilled/);
    expect(loaded.assumptions.join('\n')).toMatch(/parallel-syncs 3 \(.*sentinel\.conf:7\) runs as 1/);
    expect(loaded.assumptions.join('\n')).toMatch(/redis\.conf: dir not drilled/);
    expect(loaded.assumptions.join('\n')).toMatch(/does not set failover-timeout: the drills run faultline's values for short drills \(failover-timeout 5000\)/);
    // The faults last down-after-milliseconds + 4 s: long enough for the Sentinels to act.
    const drills = sentinelDrills(loaded.spec, loaded.topology);
    expect(drills.map((d) => d.name)).toEqual(['ha-isolated-primary', 'ha-stalled-primary', 'ha-san-lost']);
    expect(drills[0]!.definition.faults).toEqual([
      { at: '1500ms', fault: 'partition', target: 'redis-primary~redis-replica-a', duration: '9000ms' },
      { at: '1500ms', fault: 'partition', target: 'redis-primary~redis-replica-b', duration: '9000ms' },
    ]);
    expect(drills[0]!.definition.workload).toMatchObject({ duration: '13000ms' });
    expect(() => loadSentinelConfig({ sentinelConf: file('q4.conf', 'sentinel monitor m 1.2.3.4 6379 4\n') })).toThrow(/'redis\.ha\.quorum' 4 is more than the 3 Sentinels faultline runs/);
    expect(() => loadSentinelConfig({ sentinelConf: SENTINEL, topology: file('pg.json', '{"domains": ["a"], "postgres": {"nodes": []}}') })).toThrow(/has no 'redis' section/);
  });

  it('warns of an isolated primary taking writes unless min-replicas-to-write is set, and errs on a primary with no persistence', () => {
    expect(rulesOf(SENTINEL)).toEqual(["warning sentinel-isolated-primary-writes: min-replicas-to-write is not known (no --redis-conf): the drills run Redis's default, 0 @-"]);
    expect(rulesOf(SENTINEL, file('z.conf', 'min-replicas-to-write 0\nsave ""\n'))).toEqual([
      'error redis-primary-no-persistence: appendonly is not set (no, Redis\'s default) and save is "" (no snapshots) @2',
      'warning sentinel-isolated-primary-writes: min-replicas-to-write is 0 @1',
    ]);
    expect(rulesOf(join(SAMPLES, 'safe/sentinel.conf'), join(SAMPLES, 'safe/redis.conf'))).toEqual([]);
    expect(rulesOf(join(SAMPLES, 'unsafe/sentinel.conf'), join(SAMPLES, 'unsafe/redis.conf')).map((f) => f.split(':')[0])).toEqual(['warning sentinel-isolated-primary-writes']);
  });

  it("says why a drill failed from what its checks recorded, naming the finding only where split-brain shows its mechanism", () => {
    const finding = runRules(loadSentinelConfig({ sentinelConf: SENTINEL }).config, sentinelRules);
    const check = (name: string, status: string, summary: string, details: Record<string, unknown> = {}) => ({ name, status, valid: status !== 'fail', summary, details });
    const result = (checks: ReturnType<typeof check>[]) => ({ checks, writes: { acknowledged: 1000, lost: 40, indeterminate: 0 }, faults: [] }) as unknown as ExperimentResult;
    const lost = check('lost-writes', 'fail', '40 lost', { lost: 40 });
    const acted = check('manager-acted', 'pass', 'sentinel failed over', { promotions: [{ node: 'redis-replica-a', previous: 'redis-primary' }] });
    const split = check('split-brain', 'fail', 'two primaries acknowledged writes at once: 30 writes were acknowledged by a deposed primary after sentinel promoted redis-replica-a over redis-primary at 9000 ms');
    expect(explainSentinelDrill(result([lost, split, acted]), finding)).toBe(
      "40 of 1000 acknowledged writes were lost: min-replicas-to-write is not known (no --redis-conf): the drills run Redis's default, 0, and 30 writes were acknowledged by a deposed primary after sentinel promoted redis-replica-a over redis-primary at 9000 ms",
    );
    expect(explainSentinelDrill(result([lost, acted]), finding)).toBe('40 of 1000 acknowledged writes were lost: Sentinel promoted redis-replica-a in place of redis-primary without them');
    expect(explainSentinelDrill(result([lost]), finding)).toBe('40 of 1000 acknowledged writes were lost');
    // Lost writes within the budget pass; the split brain that remains is the sentence, once.
    expect(explainSentinelDrill(result([{ ...lost, status: 'pass', valid: true }, split, acted]), finding)).toBe(split.summary);
  });
});
