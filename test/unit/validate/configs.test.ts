// The sample configurations of experiments/configs: each unsafe one is flagged by the rule its
// expect.json names (each a different danger), the safe one by none; and `faultline validate
// --no-drills` on them through the CLI: exit codes, files, bad input. No containers: the drills
// on these configurations run in test/integration/validate.test.ts.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadUserConfig, runPreflight, rules } from '../../../harness/validate/index.ts';
import { cli } from '../../helpers.ts';

const CONFIGS = join(import.meta.dirname, '../../../experiments/configs');
const noDocker = { DOCKER_HOST: 'unix:///nonexistent/faultline-test.sock' };
const out = mkdtempSync(join(tmpdir(), 'faultline-validate-'));

interface Expect {
  danger: string | null;
  rules: string[];
  /** Rules that flag it as warnings, or information, when it names them (a danger that is no error). */
  warnings?: string[];
  info?: string[];
}
export function sampleConfigs() {
  return readdirSync(CONFIGS).map((name) => {
    const dir = join(CONFIGS, name);
    const file = (f: string) => (existsSync(join(dir, f)) ? join(dir, f) : undefined);
    // A script beside postgresql.conf is the one archive_command runs by the path it names.
    const conf = readFileSync(join(dir, 'postgresql.conf'), 'utf8');
    const scriptFiles = Object.fromEntries(
      readdirSync(dir)
        .filter((f) => f.endsWith('.sh'))
        .flatMap((f) => [...conf.matchAll(new RegExp(`/[^\\s'"]*/${f.replace(/\./g, '\\.')}`, 'g'))].map((m) => [m[0], join(dir, f)])),
    );
    const archiveScripts = Object.fromEntries(Object.entries(scriptFiles).map(([path, f]) => [path, readFileSync(f, 'utf8')]));
    return {
      name,
      files: { postgresConf: join(dir, 'postgresql.conf'), pgbackrestConf: file('pgbackrest.conf'), topology: file('topology.json'), ...(Object.keys(scriptFiles).length ? { archiveScripts: scriptFiles } : {}) },
      archiveScripts,
      expect: JSON.parse(readFileSync(join(dir, 'expect.json'), 'utf8')) as Expect,
    };
  });
}
const args = (f: ReturnType<typeof sampleConfigs>[number]['files']) => [
  '--postgres-conf',
  f.postgresConf,
  ...(f.pgbackrestConf ? ['--pgbackrest-conf', f.pgbackrestConf] : []),
  ...(f.topology ? ['--topology', f.topology] : []),
  ...Object.entries(f.archiveScripts ?? {}).flatMap(([path, file]) => ['--archive-script', `${path}=${file}`]),
];

describe('sample configurations', () => {
  const samples = sampleConfigs();

  it('ships at least six unsafe ones, each a different danger, and a safe one', () => {
    const unsafe = samples.filter((s) => s.expect.danger !== null);
    expect(unsafe.length).toBeGreaterThanOrEqual(6);
    expect(new Set(unsafe.map((s) => [s.expect.rules, s.expect.warnings ?? [], s.expect.info ?? []].join('/'))).size).toBe(unsafe.length);
    expect(samples.some((s) => s.name === 'safe' && s.expect.danger === null)).toBe(true);
  });

  it.each(samples.map((s) => [s.name, s] as const))('%s: flagged by exactly the rules its expect.json names (as errors)', (_name, sample) => {
    // As validate does: a setting the drills cannot run (wal-g) does not stop the preflight.
    const load = () => {
      try {
        return loadUserConfig(sample.files);
      } catch {
        return loadUserConfig(sample.files, { applySettings: false });
      }
    };
    const findings = runPreflight({ ...load().config, archiveScripts: sample.archiveScripts });
    const of = (severity: string) => [...new Set(findings.filter((f) => f.severity === severity).map((f) => f.rule))].sort();
    expect(of('error')).toEqual([...sample.expect.rules].sort());
    for (const rule of [...sample.expect.rules, ...(sample.expect.warnings ?? []), ...(sample.expect.info ?? [])]) expect(rules.some((r) => r.id === rule)).toBe(true);
    if (sample.expect.warnings) expect(of('warning')).toEqual([...sample.expect.warnings].sort());
    if (sample.expect.info) expect(of('info')).toEqual([...sample.expect.info].sort());
    if (sample.expect.danger === null) expect(findings.filter((f) => f.severity === 'warning')).toEqual([]);
  });

  it('an archive_command that copies nothing leaves the archive node without WAL; a real one is stood in for by streaming', () => {
    const byName = (name: string) => sampleConfigs().find((s) => s.name === name)!;
    const noop = loadUserConfig(byName('archive-noop').files);
    expect(noop.topology.postgres.archiveWal).toBe('none');
    expect(noop.assumptions.join('\n')).toMatch(/receives what archive_command sends \('\/bin\/true'\): no WAL, only base backups/);
    expect(loadUserConfig(byName('safe').files).topology.postgres.archiveWal).toBe('stream');
  });

  it('the safe configuration applies without a refusal, its site-specific settings mapped and said', () => {
    const safe = samples.find((s) => s.name === 'safe')!;
    const { topology } = loadUserConfig(safe.files);
    expect(topology.postgres.applied.server).toContain('synchronous_standby_names = \'ANY 2 ("pg-replica", "pg-archive")\'');
    expect(topology.postgres.applied.mapped.map((m) => m.setting)).toEqual(expect.arrayContaining(['listen_addresses', 'ssl', 'shared_buffers']));
    expect(topology.postgres.applied.mapped.find((m) => m.setting === 'listen_addresses')!.source).toMatch(/postgresql\.conf:\d+$/);
  });
});

describe('faultline validate --no-drills', () => {
  it('exits 1 on an unsafe configuration, naming the rule, the line and the fix, and writes validate.json and junit.xml', async () => {
    const sample = sampleConfigs().find((s) => s.name === 'archive-noop')!;
    const dir = join(out, 'noop');
    const junit = join(out, 'noop-junit.xml');
    const result = await cli(['validate', ...args(sample.files), '--no-drills', '--out', dir, '--junit', junit], { env: noDocker });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/ERROR\s+archive-command-noop\s+\S*archive-noop\/postgresql\.conf:5/);
    expect(result.stdout).toContain("archive_command is '/bin/true': the archive never receives WAL");
    expect(result.stdout).toMatch(/fix: /);
    const written = JSON.parse(readFileSync(join(dir, 'validate.json'), 'utf8'));
    expect(written).toMatchObject({ verdict: 'fail', exitCode: 1, drills: [] });
    expect(readFileSync(junit, 'utf8')).toMatch(/<testcase classname="faultline.validate.preflight" name="archive-command-noop [^"]*:5"><failure/);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('archive-command-noop');
  });

  it('exits 0 on the safe configuration', async () => {
    const sample = sampleConfigs().find((s) => s.name === 'safe')!;
    const result = await cli(['validate', ...args(sample.files), '--no-drills', '--out', join(out, 'safe'), '--json'], { env: noDocker });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ verdict: 'pass', findings: [expect.objectContaining({ severity: 'info' })] });
  });

  it('refuses an unparseable line with exit 2, naming file and line', async () => {
    const file = join(out, 'broken.conf');
    writeFileSync(file, "fsync = on\narchive_command = 'cp %p /x\n");
    const result = await cli(['validate', '--postgres-conf', file, '--no-drills', '--out', join(out, 'broken')], { env: noDocker });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`${file}:2`);
    expect(result.stderr).toMatch(/not closed/);
  });

  it('refuses a setting the drills cannot run with exit 2, naming its line; preflight alone still runs', async () => {
    const file = join(out, 'standby.conf');
    writeFileSync(file, "synchronous_standby_names = 'FIRST 1 (replica1)'\n");
    const result = await cli(['validate', '--postgres-conf', file, '--out', join(out, 'standby')], { env: noDocker });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/'replica1' is no node of the topology/);
    expect(result.stderr).toContain('standby.conf:1');
    const preflight = await cli(['validate', '--postgres-conf', file, '--no-drills', '--out', join(out, 'standby-pre')], { env: noDocker });
    expect(preflight.exitCode).toBe(0);
    expect(preflight.stdout).toMatch(/the drills could not run some settings/);
    expect(preflight.stdout).toMatch(/WARNING\s+sync-standby-unknown/);
  });

  it('needs --postgres-conf, knows its drills, and lists its rules', async () => {
    expect((await cli(['validate'], { env: noDocker })).stderr).toMatch(/--postgres-conf/);
    const typo = await cli(['validate', '--postgres-conf', 'x.conf', '--drill', 'domain-los'], { env: noDocker });
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/did you mean 'domain-loss'/);
    const listed = await cli(['validate', '--rules'], { env: noDocker });
    expect(listed.exitCode).toBe(0);
    for (const rule of rules) expect(listed.stdout).toContain(`${rule.id}  (${rule.severity})`);
  });
});
