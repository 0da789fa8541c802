// The user's patroni.yml as `faultline validate --patroni-conf` reads it (settings with their lines,
// local parameters over dynamic ones, Patroni's parameters over postgresql.conf's, each override
// named), and Patroni's preflight rules on it. No containers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPatroniYml } from '../../../harness/engines/postgres/index.ts';
import { loadUserConfig, runPreflight } from '../../../harness/validate/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'faultline-patroni-'));
const SAMPLES = join(import.meta.dirname, '../../../experiments/patroni-configs');
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const rulesOf = (patroniConf: string, postgresConf?: string) =>
  runPreflight(loadUserConfig({ patroniConf, ...(postgresConf ? { postgresConf } : {}) }).config)
    .filter((f) => f.rule.startsWith('patroni-'))
    .map((f) => `${f.severity} ${f.rule}: ${f.message} @${f.source?.line ?? '-'}`);

describe("the user's patroni.yml", () => {
  it('reads the settings that decide a failover, with their lines, local parameters over dynamic ones', () => {
    const yml = readPatroniYml(
      file('a.yml', ['bootstrap:', '  dcs:', '    ttl: 30', '    loop_wait: 10', '    synchronous_mode: "on"', '    postgresql:', '      parameters:', '        max_connections: 100', '        wal_keep_size: 1GB', 'postgresql:', '  use_pg_rewind: true', '  parameters:', '    wal_keep_size: 2GB', 'watchdog:', '  mode: automatic', ''].join('\n')),
      'a.yml',
    );
    expect(yml.ha).toEqual({ manager: 'patroni', ttl: 30, loop_wait: 10, synchronous_mode: true, use_pg_rewind: true });
    expect(yml.sources).toEqual({ ttl: 'a.yml:3', loop_wait: 'a.yml:4', synchronous_mode: 'a.yml:5', use_pg_rewind: 'a.yml:11' });
    expect(yml.parameters).toEqual([
      { name: 'max_connections', value: '100', source: 'a.yml:8' },
      { name: 'wal_keep_size', value: '2GB', source: 'a.yml:13' },
    ]);
    expect(yml.watchdog).toEqual({ mode: 'automatic', source: 'a.yml:15' });
  });

  it('refuses what it cannot read, naming the file and line', () => {
    expect(() => readPatroniYml(file('bad.yml', 'bootstrap:\n  dcs: [\n'), 'bad.yml')).toThrow(/^bad\.yml:\d+: not valid YAML/);
    expect(() => readPatroniYml(file('ttl.yml', 'bootstrap:\n  dcs:\n    ttl: soon\n'), 'ttl.yml')).toThrow("ttl.yml, bootstrap.dcs.ttl: 'soon' is not a whole number");
    expect(() => readPatroniYml(file('q.yml', 'bootstrap:\n  dcs:\n    synchronous_mode: quorum\n'), 'q.yml')).toThrow(/q\.yml:3: synchronous_mode 'quorum' is not drilled by faultline yet/);
    expect(() => readPatroniYml(join(dir, 'missing.yml'))).toThrow(/Cannot read Patroni configuration/);
  });

  it("lets Patroni's parameters win over postgresql.conf's, as in production, naming each override", () => {
    const conf = file('postgresql.conf', "shared_buffers = '1GB'\nwork_mem = '4MB'\n");
    const yml = file('b.yml', 'postgresql:\n  parameters:\n    shared_buffers: 128MB\n    work_mem: 4MB\n');
    const loaded = loadUserConfig({ postgresConf: conf, patroniConf: yml });
    expect(loaded.config.settings.get('shared_buffers')).toMatchObject({ value: '128MB', file: expect.stringMatching(/b\.yml$/), line: 3 });
    const overrides = loaded.assumptions.filter((a) => a.includes('overrides'));
    expect(overrides).toEqual([expect.stringMatching(/^shared_buffers = '128MB' from Patroni's parameters \(\S*b\.yml:3\) overrides '1GB' \(\S*postgresql\.conf:1\), as Patroni applies it in production$/)]);
    expect(loaded.topology.postgres.ha).toMatchObject({ manager: 'patroni' });
    // What the file leaves out runs with faultline's short-drill values, and validate says so.
    expect(loaded.assumptions).toContainEqual(expect.stringMatching(/b\.yml does not set ttl, loop_wait, retry_timeout, use_pg_rewind: the drills run faultline's values for short drills \(ttl 20, loop_wait 2, retry_timeout 4, use_pg_rewind true\), not Patroni's defaults/));
    expect(loadUserConfig({ patroniConf: join(SAMPLES, 'sync/patroni.yml') }).assumptions.join('\n')).not.toMatch(/does not set/);
    expect(loaded.topology.postgres.nodes.map((n) => n.name)).toEqual(['pg-a', 'pg-b', 'pg-c']);
  });
});

describe("Patroni's preflight rules", () => {
  it('flag the asynchronous sample and its missing watchdog, and nothing on the safe one', () => {
    expect(rulesOf(join(SAMPLES, 'async/patroni.yml'))).toEqual([
      'warning patroni-async-failover: synchronous_mode is false and maximum_lag_on_failover is 1048576 bytes: a failover can lose up to that much of acknowledged WAL @17',
      "warning patroni-no-watchdog: watchdog mode is 'off' (the file has no watchdog section) @-",
    ]);
    expect(runPreflight(loadUserConfig({ patroniConf: join(SAMPLES, 'sync/patroni.yml') }).config)).toEqual([]);
  });

  it('flag a ttl shorter than loop_wait + 2 × retry_timeout as an error, with Patroni\'s defaults for what the file leaves out', () => {
    const yml = file('c.yml', 'bootstrap:\n  dcs:\n    ttl: 20\n    loop_wait: 10\n    synchronous_mode: true\nwatchdog:\n  mode: required\n');
    expect(rulesOf(yml)).toEqual(['error patroni-ttl-budget: ttl is 20, but loop_wait + 2 × retry_timeout is 10 + 2 × 10 = 30 @3']);
    const defaults = file('d.yml', 'bootstrap:\n  dcs:\n    synchronous_mode: true\nwatchdog:\n  mode: automatic\n');
    expect(rulesOf(defaults)).toEqual(["info patroni-no-watchdog: watchdog mode is 'automatic': Patroni uses a watchdog only where the device exists, and runs on without one @5"]);
  });
});
