// Every server version faultline builds, on real containers through `faultline run --postgres N`
// (--redis N, --valkey N): a healthy run loses nothing and a drill that must fail fails, on the
// version asked, as the result records it. The default versions run the whole suite elsewhere; the
// others run a smoke subset here: the Sidekick pair, power loss and a restore as well.

import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { ExperimentResult } from '../../harness/experiment/index.ts';
import { DEFAULT_POSTGRES } from '../../harness/engines/postgres/index.ts';
import { DEFAULT_REDIS_VERSION } from '../../harness/engines/redis/index.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TESTED_POSTGRES } from '../../harness/engines/postgres/index.ts';
import type { ValidateResult } from '../../harness/validate/index.ts';
import { cli, nothingLeft, out, waitForNoLeftovers } from '../helpers.ts';

interface Version {
  option: 'postgres' | 'redis' | 'valkey';
  version: number;
  /** What the server says its version is, in result.versions. */
  says: RegExp;
  /** The Debian package the image was built with, in result.versions.packages. */
  package: RegExp;
  healthy: string;
  mustFail: string;
  /** More of the smoke subset, for versions the whole suite does not run on. */
  smoke: string[];
}

const PG_SMOKE = ['sidekick-naive', 'sidekick-hardened', 'power-loss', 'pitr-restore'];
const REDIS_SMOKE = ['redis-sidekick-naive', 'redis-sidekick-hardened', 'redis-power-loss-always'];

const postgres = (version: number): Version => ({
  option: 'postgres',
  version,
  says: new RegExp(`^PostgreSQL ${version}\\.\\d+`),
  package: new RegExp(`postgresql-${version} ${version}\\.`),
  healthy: 'healthy',
  mustFail: 'async-failover',
  smoke: version === DEFAULT_POSTGRES ? [] : PG_SMOKE,
});
const redis = (server: 'redis' | 'valkey', version: number): Version => ({
  option: server,
  version,
  says: new RegExp(`^${server === 'valkey' ? 'Valkey' : 'Redis'} ${version}\\.\\d+`),
  package: new RegExp(`${server}-server \\d+:${version}\\.|${server}-server ${version}\\.`),
  healthy: 'redis-healthy',
  mustFail: 'redis-failover-async',
  smoke: version === DEFAULT_REDIS_VERSION[server] ? [] : REDIS_SMOKE,
});

const VERSIONS: Version[] = [postgres(15), postgres(17), postgres(18), redis('redis', 7), redis('redis', 8), redis('valkey', 8), redis('valkey', 9)];

describe('the versions people run', () => {
  it.each(VERSIONS.map((v) => [`${v.option} ${v.version}`, v] as const))('%s: a healthy run loses nothing, an unsafe drill fails, the smoke subset behaves as documented', async (_name, v) => {
    const dir = out(`faultline-${v.option}${v.version}-`);
    const names = [v.healthy, v.mustFail, ...v.smoke];
    const started = performance.now();
    const ran = await cli(['run', ...names, `--${v.option}`, String(v.version), '--seed', '1', '--parallel', '2', '--as-documented', '--json', '--out', dir]);
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    console.log(`${v.option} ${v.version}: ${names.length} drills in ${seconds} s`);
    const results = JSON.parse(ran.stdout) as ExperimentResult[];
    const by = new Map(results.map((r) => [r.experiment, r]));
    expect(results.map((r) => r.experiment).sort()).toEqual([...names].sort());
    for (const result of results) {
      const engine = v.option === 'postgres' ? 'postgres' : 'redis';
      expect(result.versions[engine], result.experiment).toMatch(v.says);
      expect(result.versions.packages, result.experiment).toMatch(v.package);
      expect(result.versions.image, result.experiment).toContain(`${v.option === 'postgres' ? '' : `${v.option}-`}${v.version}-`);
      expect(await waitForNoLeftovers(result.runId!)).toEqual(nothingLeft);
    }
    const healthy = by.get(v.healthy)!;
    expect(healthy.verdict, JSON.stringify(healthy.checks.filter((c) => c.valid === false || c.valid === 'unknown'))).toBe('pass');
    expect(healthy.writes.acknowledged).toBeGreaterThan(100);
    expect(healthy.writes.lost).toBe(0);
    const unsafe = by.get(v.mustFail)!;
    expect(unsafe.verdict).toBe('fail');
    expect(unsafe.writes.lost).toBeGreaterThan(0);
    // Every drill behaved as it documents (a safe one passed, an unsafe one failed the checks it names).
    for (const result of results) expect(result.documented.ok, `${result.experiment}: ${result.documented.why}`).toBe(true);
    expect(ran.exitCode, ran.all).toBe(0);
  });
});

describe('faultline validate on every PostgreSQL version', () => {
  // The safe sample, as it is (read as the major --postgres-version gives) or with one line a newer
  // major added (the major decided from the settings): the drills run on that major.
  const cases: Array<[string, number, string[], string | undefined, RegExp]> = [
    ...TESTED_POSTGRES.filter((v) => v !== DEFAULT_POSTGRES).map((v): [string, number, string[], string | undefined, RegExp] => [`--postgres-version ${v}`, v, ['--postgres-version', String(v)], undefined, /--postgres-version/]),
    ['summarize_wal = on', 17, [], 'summarize_wal = on', /summarize_wal/],
    ['io_method = worker', 18, [], 'io_method = worker', /io_method/],
  ];
  it.each(cases)('the safe sample configuration with %s passes its crash and restore drills on PostgreSQL %i', async (_name, version, options, extra, decidedBy) => {
    const dir = out(`faultline-validate-${version}-`);
    const conf = join(dir, 'postgresql.conf');
    writeFileSync(conf, `${readFileSync(join('experiments', 'configs', 'safe', 'postgresql.conf'), 'utf8')}${extra ? `${extra}\n` : ''}`);
    const started = performance.now();
    const ran = await cli(['validate', '--postgres-conf', conf, ...options, '--drill', 'crash', '--drill', 'restore', '--seed', '1', '--json', '--out', join(dir, 'out')]);
    console.log(`validate on PostgreSQL ${version} (${_name}): 2 drills in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const result = JSON.parse(ran.stdout) as ValidateResult;
    expect(result.postgres?.version).toBe(version);
    expect(result.postgres?.decidedBy).toMatch(decidedBy);
    expect(result.versions.postgres).toMatch(new RegExp(`^PostgreSQL ${version}\\.`));
    expect(result.drills.map((d) => `${d.name}: ${d.status}`)).toEqual(['crash: pass', 'restore: pass']);
    for (const drill of result.drills) expect(drill.writes!.lost).toBe(0);
    expect(ran.exitCode, ran.all).toBe(0);
  });
});
