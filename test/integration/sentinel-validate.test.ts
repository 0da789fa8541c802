// `faultline validate --sentinel-conf` on real Redis clusters with a Sentinel beside each server,
// through the CLI as users run it: the servers' redis.conf without min-replicas-to-write fails the
// isolated-primary drill, with the writes the deposed primary acknowledged named in one sentence;
// with min-replicas-to-write 1 and min-replicas-max-lag 1 the isolated primary and the lost SAN stay
// within an RPO budget of 5 s (Redis replicates asynchronously: what the isolated primary
// acknowledged within the lag is lost, bounded), while a primary whose volume stalled still runs the
// writes its clients sent during the stall once it thaws, after the promotion: named, and lost.
// Nothing is left behind.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateViaCli } from '../helpers.ts';

const CONFIGS = join(import.meta.dirname, '../../experiments/sentinel-configs');

const validate = (args: string[]) => validateViaCli(args, 'faultline-validate-sentinel-');

const conf = (kind: string) => ['--sentinel-conf', join(CONFIGS, kind, 'sentinel.conf'), '--redis-conf', join(CONFIGS, kind, 'redis.conf')];

describe('faultline validate --sentinel-conf', () => {
  it('fails the isolated-primary drill when min-replicas-to-write is 0, naming the writes the deposed primary acknowledged', async () => {
    const { exitCode, result } = await validate([...conf('unsafe'), '--drill', 'ha-isolated-primary', '--seed', '1']);
    expect(exitCode).toBe(1);
    expect(result.verdict).toBe('fail');
    expect(result.redis).toEqual({ server: 'redis', version: 8 });
    expect(result.postgres).toBeUndefined();
    expect(result.findings.map((f) => `${f.severity} ${f.rule} ${f.message}`)).toEqual(["warning sentinel-isolated-primary-writes min-replicas-to-write is not set (0, Redis's default)"]);
    expect(result.assumptions).toContainEqual(expect.stringMatching(/^the Sentinels monitor 'mymaster' as faultline's primary/));
    const [drill] = result.drills;
    expect(drill).toMatchObject({ name: 'ha-isolated-primary', status: 'fail' });
    expect(drill!.writes!.lost).toBeGreaterThan(0);
    expect(drill!.why).toMatch(
      /^\d+ of \d+ acknowledged writes were lost: min-replicas-to-write is not set \(0, Redis's default\), and \d+ writes were acknowledged by a deposed primary after sentinel promoted redis-replica-[ab] over redis-primary at \d+ ms \(\d+ by redis-primary from \d+ to \d+ ms\); \d+ of them are lost \(keys \d+/,
    );
  });

  it('with min-replicas-to-write 1 and min-replicas-max-lag 1, the isolated primary and the lost SAN stay within a 5 s RPO budget; a stalled primary still acknowledges the writes its clients had sent, named', { timeout: 600_000 }, async () => {
    const { exitCode, result } = await validate([...conf('safe'), '--rpo-budget', '5s', '--seed', '1']);
    expect(result.findings).toEqual([]);
    const [isolated, stalled, sanLost] = result.drills;
    expect(isolated).toMatchObject({ name: 'ha-isolated-primary', status: 'pass' });
    expect(sanLost).toMatchObject({ name: 'ha-san-lost', status: 'pass' });
    for (const drill of [isolated!, sanLost!]) expect(drill.writes!.acknowledged, `${drill.name} acknowledged writes`).toBeGreaterThan(1000);
    // Sentinel failed over after the SAN went: writes were served again, by a promoted replica.
    expect(sanLost!.rtoMs).toBeGreaterThan(2000);
    // The stalled primary, thawed after Sentinel promoted a replica, runs the writes its clients had
    // sent during the stall, and accepts more until it counts its replicas gone: Redis counts the
    // replicas within min-replicas-max-lag once a second (replicationCron), so for at most about a
    // second after the thaw. Usually one write a client; CI once saw a client's next write too.
    expect(stalled).toMatchObject({ name: 'ha-stalled-primary', status: 'fail' });
    expect(stalled!.writes!.lost).toBeGreaterThan(0);
    expect(stalled!.why).toMatch(/^RPO \d+ writes over \d+ ms: \d+ ms of data lost, counted from the last write that survived before them \(budget 5000 ms\): \d+ writes were acknowledged by a deposed primary after sentinel promoted redis-replica-[ab] over redis-primary at \d+ ms \(\d+ by redis-primary from \d+ to \d+ ms\); \d+ of them are lost/);
    const [, deposed, from, to] = stalled!.why!.match(/\((\d+) by redis-primary from (\d+) to (\d+) ms\)/)!.map(Number);
    expect(deposed).toBe(stalled!.writes!.lost);
    expect(to! - from!, 'how long the deposed primary acknowledged writes after the thaw').toBeLessThanOrEqual(1500);
    expect(exitCode).toBe(1);
  });
});
