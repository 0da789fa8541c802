// `faultline validate --patroni-conf` on real Patroni clusters (etcd beside each server, HAProxy in
// front), through the CLI as users run it: a configuration with synchronous_mode off fails the drill
// that cuts the primary off from its replicas and then loses its SAN, with the reason in one
// sentence; its safe counterpart (synchronous_mode and strict mode on, a watchdog) passes every HA
// drill three runs in a row. Nothing is left behind.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateViaCli } from '../helpers.ts';

const CONFIGS = join(import.meta.dirname, '../../experiments/patroni-configs');

const validate = (args: string[]) => validateViaCli(args, 'faultline-validate-patroni-');

describe('faultline validate --patroni-conf', () => {
  it('fails the drill that cuts the primary off then loses its SAN when synchronous_mode is off, saying why in one sentence', async () => {
    const { exitCode, result } = await validate(['--patroni-conf', join(CONFIGS, 'async/patroni.yml'), '--drill', 'ha-cut-then-san-lost', '--seed', '4']);
    expect(exitCode).toBe(1);
    expect(result.verdict).toBe('fail');
    expect(result.findings.map((f) => `${f.severity} ${f.rule}`).sort()).toEqual(['warning patroni-async-failover', 'warning patroni-no-watchdog']);
    expect(result.inputs.patroniConf).toMatch(/async\/patroni\.yml$/);
    const [drill] = result.drills;
    expect(drill).toMatchObject({ name: 'ha-cut-then-san-lost', status: 'fail' });
    expect(drill!.writes!.lost).toBeGreaterThan(0);
    expect(drill!.why).toMatch(
      /^\d+ of \d+ acknowledged writes were lost: synchronous_mode is false and maximum_lag_on_failover is 1048576 bytes: a failover can lose up to that much of acknowledged WAL \(Patroni promoted pg-[bc] in place of pg-a without them\)$/,
    );
  });

  it('passes the safe counterpart on every HA drill, three runs in a row', { timeout: 900_000 }, async () => {
    for (const seed of [1, 2, 3]) {
      const { exitCode, result } = await validate(['--patroni-conf', join(CONFIGS, 'sync/patroni.yml'), '--seed', String(seed)]);
      expect(result.findings).toEqual([]);
      expect(result.drills.map((d) => `${d.name}: ${d.status}${d.why ? `: ${d.why}` : ''}`), `seed ${seed}`).toEqual(['ha-san-lost: pass', 'ha-cut-then-san-lost: pass', 'ha-frozen-patroni: pass']);
      for (const drill of result.drills) {
        expect(drill.writes!.acknowledged, `${drill.name} acknowledged writes`).toBeGreaterThan(1000);
        expect(drill.writes!.lost).toBe(0);
      }
      // Patroni failed over after the SAN went: writes were served again, by a promoted replica.
      expect(result.drills[0]!.rtoMs).toBeGreaterThan(15_000);
      expect(exitCode, `seed ${seed}`).toBe(0);
    }
  });
});
