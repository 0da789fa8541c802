// The user's settings on top of faultline's: what is applied, what is mapped (and said), what is
// refused with its source line. Pure: the topology is only validated, nothing starts.
import { describe, expect, it } from 'vitest';
import { validatePostgresTopology, defaultTopology, type PostgresTopologySpec } from '../../../harness/engines/postgres/index.ts';
import { ConfigError } from '../../../harness/errors.ts';

const withSettings = (settings: Record<string, unknown>, extra: Partial<PostgresTopologySpec['postgres']> = {}): PostgresTopologySpec =>
  ({ ...defaultTopology, postgres: { ...defaultTopology.postgres, ...extra, settings } }) as PostgresTopologySpec;

describe('postgres.settings', () => {
  it('applies ordinary settings after faultline\'s own, quoted as postgresql.conf reads them', () => {
    const t = validatePostgresTopology(withSettings({ wal_keep_size: '1GB', synchronous_commit: 'remote_apply', log_min_messages: "it's" }));
    expect(t.postgres.applied.server).toEqual(["wal_keep_size = '1GB'", "synchronous_commit = 'remote_apply'", "log_min_messages = 'it''s'"]);
    expect(t.postgres.applied.mapped).toEqual([]);
  });

  it('maps settings of the user\'s site to the container\'s, naming their source, instead of dropping them in silence', () => {
    const t = validatePostgresTopology(
      withSettings({
        listen_addresses: { value: '10.0.0.5', source: 'postgresql.conf:4' },
        data_directory: '/srv/pg',
        ssl_cert_file: { value: '/etc/ssl/db.pem', source: 'postgresql.conf:9' },
        shared_buffers: '8GB',
        huge_pages: 'on',
      }),
    );
    const mapped = Object.fromEntries(t.postgres.applied.mapped.map((m) => [m.setting, m]));
    expect(mapped.listen_addresses).toMatchObject({ source: 'postgresql.conf:4', to: '' });
    expect(mapped.data_directory?.source).toContain('postgres.settings.data_directory');
    expect(mapped.ssl_cert_file?.source).toBe('postgresql.conf:9');
    expect(mapped.shared_buffers).toMatchObject({ to: '128MB' });
    expect(mapped.huge_pages).toMatchObject({ to: 'try' });
    expect(t.postgres.applied.server).toEqual(["shared_buffers = '128MB'", "huge_pages = 'try'"]);
    expect(t.postgres.applied.server.join('\n')).not.toContain('10.0.0.5');
  });

  it('keeps a small shared_buffers as it is', () => {
    expect(validatePostgresTopology(withSettings({ shared_buffers: '32MB' })).postgres.applied.server).toEqual(["shared_buffers = '32MB'"]);
  });

  it('refuses every setting that cannot run at once, each with its line', () => {
    const attempt = () =>
      validatePostgresTopology(
        withSettings({
          synchronous_standby_names: { value: 'FIRST 1 (replica1)', source: 'postgresql.conf:20' },
          max_wal_senders: { value: '2', source: 'postgresql.conf:21' },
        }),
        'my topology',
      );
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/my topology: 2 settings cannot be run/);
    expect(attempt).toThrow(/\(postgresql\.conf:20\): 'replica1' is no node of the topology/);
    expect(attempt).toThrow(/max_wal_senders = '2' \(postgresql\.conf:21\).*at least/);
  });

  it('refuses a standby name PostgreSQL would not parse (a dash, unquoted), saying how to quote it', () => {
    expect(() => validatePostgresTopology(withSettings({ synchronous_standby_names: 'FIRST 1 (pg-replica)' }))).toThrow(/syntax error: double-quote that name, e\.g\. "pg-replica"/);
    expect(validatePostgresTopology(withSettings({ synchronous_standby_names: 'FIRST 1 ("PG-Replica")' })).postgres.applied.server).toHaveLength(1);
  });

  it('runs without a preload library the image lacks, keeping the others, and says so', () => {
    const t = validatePostgresTopology(withSettings({ shared_preload_libraries: { value: 'pg_stat_statements,timescaledb', source: 'postgresql.conf:12' } }));
    expect(t.postgres.applied.server).toEqual(["shared_preload_libraries = 'pg_stat_statements'"]);
    expect(t.postgres.applied.mapped[0]).toMatchObject({ setting: 'shared_preload_libraries', source: 'postgresql.conf:12', to: 'pg_stat_statements' });
    expect(t.postgres.applied.mapped[0]!.why).toMatch(/'timescaledb' is not installed/);
  });

  it('maps locales the image lacks, huge pages in any spelling, and fractional memory above the cap', () => {
    const t = validatePostgresTopology(withSettings({ lc_messages: 'en_US.UTF-8', lc_time: 'C', huge_pages: 'yes', shared_buffers: '1.5GB', work_mem: '1024' }));
    expect(t.postgres.applied.server).toEqual(["lc_messages = 'C.UTF-8'", "lc_time = 'C'", "huge_pages = 'try'", "shared_buffers = '128MB'", "work_mem = '1024'"]);
  });

  it('keeps a line break in a value inside its quotes', () => {
    expect(validatePostgresTopology(withSettings({ application_name: 'a\nb' })).postgres.applied.server).toEqual(["application_name = 'a\\nb'"]);
  });

  it('accepts installed preload libraries and standby names of the topology', () => {
    const t = validatePostgresTopology(withSettings({ shared_preload_libraries: 'pg_stat_statements', synchronous_standby_names: 'ANY 2 ("pg-replica", "pg-archive")' }));
    expect(t.postgres.applied.server).toContain("synchronous_standby_names = 'ANY 2 (\"pg-replica\", \"pg-archive\")'");
  });

  it('refuses wal_level minimal when nodes must follow the primary', () => {
    expect(() => validatePostgresTopology(withSettings({ wal_level: 'minimal' }))).toThrow(/wal_level 'minimal'.*'pg-replica', 'pg-archive'/);
  });

  it('runs a no-op archive_command as written, and stands streaming in for a real one under pg_receivewal', () => {
    const noop = validatePostgresTopology(withSettings({ archive_mode: 'on', archive_command: '/bin/true' }));
    expect(noop.postgres.applied.server).toEqual(["archive_mode = 'on'", "archive_command = '/bin/true'"]);
    const real = validatePostgresTopology(withSettings({ archive_mode: 'on', archive_command: 'cp %p /mnt/nfs/wal/%f' }));
    expect(real.postgres.applied.server).toEqual([]);
    expect(real.postgres.applied.mapped.map((m) => m.setting).sort()).toEqual(['archive_command', 'archive_mode']);
  });

  it('keeps node settings to their node, and refuses them on the archive (no server runs there)', () => {
    const spec = structuredClone(defaultTopology) as PostgresTopologySpec;
    spec.postgres.nodes[1]!.settings = { hot_standby_feedback: 'off' };
    expect(validatePostgresTopology(spec).postgres.applied.nodes).toEqual({ 'pg-replica': ["hot_standby_feedback = 'off'"] });
    spec.postgres.nodes[2]!.settings = { work_mem: '4MB' };
    expect(() => validatePostgresTopology(spec)).toThrow(/'pg-archive' is the archive: it runs no PostgreSQL server/);
  });
});

describe('postgres.pgbackrest', () => {
  const pgbr = (pgbackrest: Record<string, Record<string, unknown>>) => ({
    domains: ['san-a', 'site-b'],
    postgres: { backupTool: 'pgbackrest', pgbackrest, nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }, { name: 'pg-archive', role: 'archive', domain: 'site-b' }] },
  });

  it('puts options in their sections (stanza options under the run\'s stanza) and maps the site\'s paths and hosts', () => {
    const t = validatePostgresTopology(
      pgbr({
        global: { 'archive-async': true, 'repo1-path': '/var/lib/pgbackrest', 'repo1-type': 's3', 'repo1-s3-bucket': 'backups' },
        'global:archive-push': { 'archive-push-queue-max': '64MB' },
        demo: { 'pg1-path': '/srv/pg', 'recovery-option': ['a=1', 'b=2'] },
      }),
    );
    expect(t.postgres.applied.pgbackrest).toEqual({
      global: ['archive-async=y'],
      stanza: ['recovery-option=a=1', 'recovery-option=b=2'],
      sections: ['[global:archive-push]', 'archive-push-queue-max=64MB', ''],
    });
    expect(t.postgres.applied.mapped.map((m) => m.setting)).toEqual(['repo1-path [global]', 'repo1-type [global]', 'repo1-s3-bucket [global]', 'pg1-path [demo]']);
  });

  it('refuses a second repository and options without pgBackRest', () => {
    expect(() => validatePostgresTopology(pgbr({ global: { 'repo2-retention-full': '1' } }))).toThrow(/repo2-retention-full \[global\].*one repository/);
    const spec = { ...pgbr({ global: { 'archive-async': 'y' } }) };
    spec.postgres.backupTool = 'pg_receivewal';
    expect(() => validatePostgresTopology(spec)).toThrow(/backupTool is 'pg_receivewal': set "backupTool": "pgbackrest"/);
  });

  it("refuses archiveWal 'none' with pgBackRest, whose repository gets what archive_command pushes", () => {
    expect(() => validatePostgresTopology({ ...pgbr({}), postgres: { ...pgbr({}).postgres, archiveWal: 'none' } })).toThrow(/'archiveWal' 'none' applies to a pg_receivewal archive/);
  });

  it('refuses a section or option name pgBackRest would not read', () => {
    expect(() => validatePostgresTopology(pgbr({ 'global:Archive': { x: '1' } }))).toThrow(/is not a pgbackrest\.conf section/);
    expect(() => validatePostgresTopology(pgbr({ global: { Archive_Async: 'y' } }))).toThrow(/is not a pgBackRest option name/);
  });
});
