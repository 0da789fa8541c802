// Which PostgreSQL major `faultline validate` judges a configuration as: --postgres-version (or the
// topology's "version"), then the path, then PG_VERSION beside the file, then the settings, then the
// default; sources that disagree are refused naming each; every setting is checked against that
// major's own shipped list (did you mean / exists from N on / removed in N, with file:line), module
// settings pass; the rules' defaults are that major's; the drills run it. No containers.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POSTGRES } from '../../harness/engines/postgres/index.ts';
import { ConfigError } from '../../harness/errors.ts';
import { defaultOf, loadUserConfig, unknownSetting, validateDrills, type ValidateResult } from '../../harness/validate/index.ts';
import { cli } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'faultline-version-'));
const noDocker = { DOCKER_HOST: 'unix:///nonexistent/faultline-test.sock' };
let count = 0;

/** A postgresql.conf at `where` (under the temporary folder) holding these lines. */
function conf(where: string, lines: string[]): string {
  const file = join(dir, where);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
/** A configuration in a folder whose path names no major. */
const plain = (lines: string[]) => conf(`plain-${++count}/postgresql.conf`, lines);
/** A configuration where Debian keeps the one of this major. */
const debian = (major: number, lines: string[]) => conf(`debian-${++count}/etc/postgresql/${major}/main/postgresql.conf`, lines);
const topologyFile = (version: number) => {
  const file = join(dir, `topology-${++count}.json`);
  writeFileSync(file, JSON.stringify({ domains: ['san-a', 'san-b', 'backup-site'], postgres: { version, nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }, { name: 'pg-replica', role: 'replica', domain: 'san-b' }, { name: 'pg-archive', role: 'archive', domain: 'backup-site' }] } }));
  return file;
};
const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
};

describe('the PostgreSQL major of a configuration', () => {
  it('is --postgres-version first, then the topology, the path, PG_VERSION, the settings, and the default', () => {
    const decided = (files: Parameters<typeof loadUserConfig>[0]) => {
      const { postgres, topology, assumptions } = loadUserConfig(files);
      expect(topology.postgres.version).toBe(postgres.major);
      expect(assumptions.join('\n')).toContain(`PostgreSQL ${postgres.major}, ${postgres.decidedBy}`);
      return { major: postgres.major, source: postgres.source };
    };
    expect(decided({ postgresConf: plain(['fsync = on']), postgresVersion: 15 })).toEqual({ major: 15, source: 'option' });
    // Agreeing sources: the first in order is the one named.
    expect(decided({ postgresConf: debian(18, ['fsync = on']), postgresVersion: 18 })).toEqual({ major: 18, source: 'option' });
    expect(decided({ postgresConf: debian(18, ['fsync = on']), topology: topologyFile(18) })).toEqual({ major: 18, source: 'topology' });
    expect(decided({ postgresConf: debian(15, ['fsync = on']) })).toEqual({ major: 15, source: 'path' });
    expect(decided({ postgresConf: conf('var/lib/pgsql/18/data/postgresql.conf', ['fsync = on']) })).toEqual({ major: 18, source: 'path' });
    const dataDir = plain(['fsync = on']);
    writeFileSync(join(dirname(dataDir), 'PG_VERSION'), '15\n');
    expect(decided({ postgresConf: dataDir })).toEqual({ major: 15, source: 'PG_VERSION' });
    expect(decided({ postgresConf: plain(['summarize_wal = on']) })).toEqual({ major: 17, source: 'settings' });
    expect(decided({ postgresConf: plain(['fsync = on', 'io_method = worker', 'summarize_wal = on']) })).toEqual({ major: 18, source: 'settings' });
    expect(decided({ postgresConf: plain(['vacuum_defer_cleanup_age = 0']) })).toEqual({ major: 15, source: 'settings' });
    expect(decided({ postgresConf: plain(['fsync = on']) })).toEqual({ major: DEFAULT_POSTGRES, source: 'default' });
    expect(decided({ postgresConf: plain(['fsync = on']) }).major).toBe(17);
  });

  it('refuses sources that disagree, naming each and what it said', () => {
    const debian17 = debian(17, ['fsync = on']);
    expect(refusal(() => loadUserConfig({ postgresConf: debian17, postgresVersion: 15 }))).toMatch(new RegExp(`--postgres-version says 15, but the path of ${debian17} says 17`));
    expect(refusal(() => loadUserConfig({ postgresConf: debian17, topology: topologyFile(15) }))).toMatch(/"version" in the topology file \S+topology-\d+\.json says 15, but the path of \S+ says 17/);
    const dataDir = debian(15, ['fsync = on']);
    writeFileSync(join(dirname(dataDir), 'PG_VERSION'), '17\n');
    expect(refusal(() => loadUserConfig({ postgresConf: dataDir }))).toMatch(/the path of \S+ says 15, but \S+PG_VERSION says 17/);
    // A setting only a newer major has, in a configuration its path says is older.
    const old = debian(15, ['fsync = on', 'summarize_wal = on']);
    const message = refusal(() => loadUserConfig({ postgresConf: old }));
    expect(message).toContain(`${old}:2: 'summarize_wal' is not a PostgreSQL 15 setting: this setting exists from PostgreSQL 17 on`);
    expect(message).toContain(`judged as PostgreSQL 15, as the path of ${old} says`);
    expect(message).toContain('--postgres-version 17');
  });
});

describe('the settings, against the major’s own list', () => {
  it('name the setting, its line, and why: did you mean, exists from N on, removed in N', () => {
    expect(unknownSetting('shared_buffer', 17)?.message).toBe("'shared_buffer' is not a PostgreSQL 17 setting: did you mean 'shared_buffers'?");
    expect(unknownSetting('summarize_wal', 15)?.message).toMatch(/^'summarize_wal' is not a PostgreSQL 15 setting: this setting exists from PostgreSQL 17 on/);
    expect(unknownSetting('io_method', 17)?.message).toBe("'io_method' is not a PostgreSQL 17 setting: this setting exists from PostgreSQL 18 on");
    expect(unknownSetting('vacuum_defer_cleanup_age', 18)?.message).toMatch(/^'vacuum_defer_cleanup_age' is not a PostgreSQL 18 setting: it was removed in PostgreSQL 17/);
    expect(unknownSetting('no_such_thing_at_all', 17)?.message).toMatch(/is no setting of PostgreSQL 15, 17, 18: check its spelling/);
    const file = debian(17, ['fsync = on', 'shared_buffer = 1GB', 'promote_trigger_file = /tmp/x']);
    const message = refusal(() => loadUserConfig({ postgresConf: file }));
    expect(message).toContain(`2 settings are not PostgreSQL 17's`);
    expect(message).toContain(`${file}:2: 'shared_buffer' is not a PostgreSQL 17 setting: did you mean 'shared_buffers'?`);
    expect(message).toContain(`${file}:3: 'promote_trigger_file' is not a PostgreSQL 17 setting: it was removed in PostgreSQL 17`);
  });

  it('let module settings, mixed-case names and old aliases pass, and a newer major’s settings on it', () => {
    const file = debian(17, ['pg_stat_statements.max = 10000', 'auto_explain.log_min_duration = 5s', 'TimeZone = UTC', 'sort_mem = 4MB', 'summarize_wal = on']);
    expect(loadUserConfig({ postgresConf: file }).postgres.major).toBe(17);
    expect(unknownSetting('ssl_ecdh_curve', 18)).toBeUndefined(); // kept in 18 as the old name of ssl_groups
    expect(unknownSetting('io_method', 18)).toBeUndefined();
  });

  it("are the ones PostgreSQL 16 (no list of its own) has on either side", () => {
    expect(unknownSetting('summarize_wal', 16)).toBeUndefined();
    expect(unknownSetting('vacuum_defer_cleanup_age', 16)).toBeUndefined();
    expect(unknownSetting('io_method', 16)?.message).toMatch(/exists from PostgreSQL 18 on$/);
  });
});

describe("the rules' defaults", () => {
  // PostgreSQL 15's defaults as the rules had them written out before the lists: the same for 15.
  const FIFTEEN: Record<string, string> = {
    archive_mode: 'off', archive_command: '', archive_library: '', archive_timeout: '0', wal_level: 'replica', fsync: 'on', full_page_writes: 'on',
    data_sync_retry: 'off', synchronous_commit: 'on', synchronous_standby_names: '', wal_keep_size: '0', max_slot_wal_keep_size: '-1', max_replication_slots: '10',
  };
  it("are each major's own, from its list, and 15's are what they were", () => {
    for (const [name, value] of Object.entries(FIFTEEN)) expect(defaultOf(15, name), name).toBe(value);
    expect(defaultOf(18, 'io_method')).toBe('worker');
    expect(defaultOf(15, 'io_method')).toBe('');
    expect(defaultOf(17, 'shared_buffers')).toBe('131072kB');
  });
});

describe('the drills', () => {
  it('run the decided major', () => {
    const loaded = loadUserConfig({ postgresConf: plain(['io_method = worker']) });
    expect(loaded.spec.postgres.version).toBe(18);
    for (const drill of validateDrills(loaded.spec)) expect(drill.definition.topology.postgres?.version, drill.name).toBe(18);
    expect(loadUserConfig({ postgresConf: plain(['fsync = on']), postgresVersion: 15 }).spec.postgres.version).toBe(15);
  });
});

describe('faultline validate --no-drills', () => {
  const validate = (args: string[]) => cli(['validate', ...args, '--no-drills', '--out', join(dir, `out-${++count}`)], { env: noDocker });

  it('judges a PostgreSQL 17 configuration with summarize_wal = on as 17 and does not refuse it', async () => {
    const file = debian(17, ['fsync = on', 'summarize_wal = on']);
    const run = await validate(['--postgres-conf', file, '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as ValidateResult;
    expect(result.postgres).toMatchObject({ version: 17, source: 'path' });
    expect(result.assumptions.join('\n')).toContain(`PostgreSQL 17, as the path of ${file} says`);
    const table = await validate(['--postgres-conf', plain(['summarize_wal = on'])]);
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/assuming PostgreSQL 17, as summarize_wal \(\S+:1\) says/);
  });

  it('refuses summarize_wal = on in a PostgreSQL 15 configuration (by path or --postgres-version) with exit 2, naming it, its line and 17', async () => {
    const byPath = debian(15, ['fsync = on', 'summarize_wal = on']);
    const byOption = plain(['fsync = on', 'wal_level = replica', 'summarize_wal = on']);
    for (const [args, line] of [[['--postgres-conf', byPath], `${byPath}:2`], [['--postgres-conf', byOption, '--postgres-version', '15'], `${byOption}:3`]] as const) {
      const run = await validate([...args]);
      expect(run.exitCode, run.all).toBe(2);
      expect(run.stderr).toContain(`${line}: 'summarize_wal' is not a PostgreSQL 15 setting: this setting exists from PostgreSQL 17 on`);
      expect(run.stdout).not.toMatch(/Verdict/);
    }
  });

  it('judges io_method = worker as PostgreSQL 18; refuses disagreeing sources and unsupported majors with exit 2', async () => {
    const run = await validate(['--postgres-conf', plain(['io_method = worker']), '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as ValidateResult).postgres).toMatchObject({ version: 18, source: 'settings' });
    const disagree = await validate(['--postgres-conf', debian(17, ['fsync = on']), '--postgres-version', '15']);
    expect(disagree.exitCode).toBe(2);
    expect(disagree.stderr).toMatch(/--postgres-version says 15, but the path of \S+ says 17/);
    const unsupported = await validate(['--postgres-conf', plain(['fsync = on']), '--postgres-version', '14']);
    expect(unsupported.exitCode).toBe(2);
    expect(unsupported.stderr).toMatch(/--postgres-version '14' is not a PostgreSQL major faultline supports: use PostgreSQL 15, 17, 18/);
    const oldPath = await validate(['--postgres-conf', debian(13, ['fsync = on'])]);
    expect(oldPath.exitCode).toBe(2);
    expect(oldPath.stderr).toMatch(/is for PostgreSQL 13, as the path of \S+ says, which faultline can neither check nor run/);
  });
});
