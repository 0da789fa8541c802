// The mapping of a user's Barman configuration (barman.conf, their server file) to the cluster:
// options as written, site paths and hosts mapped, what cannot run refused with the option named.
import { describe, expect, it } from 'vitest';
import { barmanConf, barmanConfIssues, BarmanConfRefusal, renderBarmanFiles, type BarmanSite } from '../../harness/engines/postgres/barman/conf.ts';
import { parseConninfo, renderConninfo } from '../../harness/engines/postgres/barman/conninfo.ts';
import { readBarmanVerify } from '../../harness/engines/postgres/barman/verify.ts';

const site: BarmanSite = { repo: '/var/lib/faultline/data', primary: 'pg-primary', archive: 'pg-archive', slot: 'pg_archive', synchronous: false, pgBin: '/usr/lib/postgresql/17/bin' };
const opt = (options: Array<[string, string]>, key: string) => options.findLast(([k]) => k === key)?.[1];

const USER_CONF = `; our Barman
[barman]
barman_user = barman
barman_home = /srv/barman
log_file = /var/log/barman/barman.log
log_level = DEBUG
compression = gzip
path_prefix = /usr/pgsql-15/bin
`;
const USER_SERVER = `[pg-prod]
description = "Production"
conninfo = host=db1.example.com port=6432 user=barman dbname=appdb sslmode=verify-full sslrootcert=/etc/ssl/ca.pem password=s3cret
streaming_conninfo = postgresql://streaming_barman@db1.example.com:6432/postgres?application_name=x
backup_method = postgres
streaming_archiver = on
slot_name = barman
retention_policy = RECOVERY WINDOW OF 7 DAYS
wals_directory = /srv/wals/pg-prod
`;

describe('barmanConf', () => {
  it('without files of the user, is a streaming server on the primary with faultline slot, barman_home on the volume', () => {
    const conf = barmanConf({}, site);
    expect(conf.server).toBe('main');
    expect(conf.home).toBe('/var/lib/faultline/data/barman');
    expect(opt(conf.global, 'barman_user')).toBe('postgres');
    expect(opt(conf.global, 'barman_home')).toBe('/var/lib/faultline/data/barman');
    expect(opt(conf.options, 'conninfo')).toBe('host=pg-primary port=5432 user=postgres dbname=postgres');
    expect(opt(conf.options, 'backup_method')).toBe('postgres');
    expect(opt(conf.options, 'streaming_archiver')).toBe('on');
    expect(conf.slot).toBe('pg_archive');
    expect(conf.streaming).toBe(true);
    expect(conf.archiver).toBe(false);
    expect(conf.applicationName).toBe('barman_receive_wal');
    expect(conf.mapped).toEqual([]);
  });

  it('names the archive node as the streaming archiver when it is synchronous, and says so', () => {
    const conf = barmanConf({}, { ...site, synchronous: true });
    expect(conf.applicationName).toBe('pg-archive');
    expect(opt(conf.options, 'streaming_archiver_name')).toBe('pg-archive');
    expect(conf.mapped).toEqual([expect.objectContaining({ option: 'streaming_archiver_name', from: 'barman_receive_wal', to: 'pg-archive' })]);
  });

  it("keeps the user's options as written and maps their site's paths, hosts, users and TLS files", () => {
    const conf = barmanConf({ conf: USER_CONF, server: USER_SERVER }, site);
    expect(conf.server).toBe('pg-prod');
    expect(opt(conf.global, 'log_level')).toBe('DEBUG');
    expect(opt(conf.global, 'compression')).toBe('gzip');
    expect(opt(conf.global, 'barman_user')).toBe('postgres');
    expect(opt(conf.global, 'barman_home')).toBe('/var/lib/faultline/data/barman');
    expect(opt(conf.global, 'log_file')).toBe('/var/log/faultline/barman.log');
    expect(opt(conf.global, 'path_prefix')).toBe('/usr/lib/postgresql/17/bin');
    expect(opt(conf.options, 'retention_policy')).toBe('RECOVERY WINDOW OF 7 DAYS');
    expect(opt(conf.options, 'description')).toBe('"Production"');
    expect(opt(conf.options, 'conninfo')).toBe('host=pg-primary port=5432 user=postgres dbname=postgres');
    expect(opt(conf.options, 'streaming_conninfo')).toBe('host=pg-primary port=5432 user=postgres application_name=x');
    expect(opt(conf.options, 'slot_name')).toBe('pg_archive');
    expect(opt(conf.options, 'wals_directory')).toBe('/var/lib/faultline/data/barman/pg-prod/wals');
    const options = conf.mapped.map((m) => m.option);
    expect(options).toEqual(expect.arrayContaining(['barman_user', 'barman_home', 'log_file', 'path_prefix', 'conninfo', 'streaming_conninfo', 'slot_name', 'wals_directory']));
    expect(options).not.toContain('retention_policy');
    expect(conf.mapped.find((m) => m.option === 'conninfo')!.from).toContain('db1.example.com');
    const files = renderBarmanFiles(conf);
    expect(files.main).toMatch(/^\[barman\]$/m);
    expect(files.server).toMatch(/^\[pg-prod\]$/m);
    expect(files.server).not.toMatch(/s3cret|example\.com|verify-full/);
  });

  it("checkpoints at once for a drill's backups, whatever the user's files say, and says so", () => {
    for (const theirs of ['', 'immediate_checkpoint = false\n']) {
      const conf = barmanConf({ conf: USER_CONF, server: `${USER_SERVER}\n${theirs}` }, site);
      expect(opt(conf.options, 'immediate_checkpoint')).toBe('true');
      expect(conf.options.filter(([k]) => k === 'immediate_checkpoint')).toHaveLength(1);
      expect(conf.mapped.find((m) => m.option === 'immediate_checkpoint')).toEqual(expect.objectContaining({ from: theirs ? 'false' : '', to: 'true', why: expect.stringMatching(/spread checkpoint/) }));
    }
    const already = barmanConf({ conf: USER_CONF, server: `${USER_SERVER}\nimmediate_checkpoint = true\n` }, site);
    expect(already.mapped.map((m) => m.option)).not.toContain('immediate_checkpoint');
  });

  it('takes a server section written in barman.conf itself', () => {
    const conf = barmanConf({ conf: `[barman]\nbarman_home = /b\n[db]\nconninfo = host=x\nbackup_method = postgres\nstreaming_archiver = on\n` }, site);
    expect(conf.server).toBe('db');
    expect(conf.streaming).toBe(true);
    expect(conf.slot).toBeUndefined(); // their server names no slot: none
  });

  it.each([
    ['backup_method = rsync\nssh_command = ssh postgres@db1\nstreaming_archiver = on', /backup_method = rsync .*only backup_method = postgres/],
    ['backup_method = snapshot\nsnapshot_provider = gcp\nstreaming_archiver = on', /snapshot_provider = gcp .*cloud snapshot/],
    ['backup_method = postgres\nstreaming_archiver = on\npost_backup_script = /usr/local/bin/notify', /post_backup_script .*hook script/],
    ['backup_method = postgres\nstreaming_archiver = off', /neither streaming_archiver nor archiver/],
    ['streaming_archiver = on', /sets no backup_method/],
    ['backup_method = postgres\nstreaming_archiver = on\nactive = false', /inactive server/],
    ['backup_method = postgres\nstreaming_archiver = on\nprimary_conninfo = host=db1', /from a standby/],
    ['backup_method = postgres\narchiver = on', /barman-wal-archive needs SSH/],
  ])('refuses what cannot run here, naming the option: %s', (body, why) => {
    const issues = barmanConfIssues({ server: `[pg]\n${body}\n` });
    expect(issues.join('\n')).toMatch(why);
    expect(() => barmanConf({ server: `[pg]\n${body}\n` }, site)).toThrow(BarmanConfRefusal);
  });

  it('accepts barman-wal-archive when the site can run it', () => {
    const conf = barmanConf({ server: '[pg]\nbackup_method = postgres\narchiver = on\n' }, { ...site, walArchive: true });
    expect(conf.archiver).toBe(true);
    expect(conf.streaming).toBe(false);
  });

  it('refuses two servers, and text that is not a configuration file', () => {
    expect(barmanConfIssues({ conf: '[barman]\n[a]\nbackup_method = postgres\n', server: '[b]\nbackup_method = postgres\n' }).join()).toMatch(/2 servers/);
    expect(barmanConfIssues({ server: 'conninfo = host=x\n' }).join()).toMatch(/before any \[section\]/);
    expect(barmanConfIssues({ conf: USER_CONF, server: USER_SERVER })).toEqual([]);
  });
});

describe('conninfo', () => {
  it('reads key=value with quotes and URIs, and writes them back', () => {
    expect(parseConninfo("host=db1 password='a b\\'c' dbname=x")).toEqual([['host', 'db1'], ['password', "a b'c"], ['dbname', 'x']]);
    expect(parseConninfo('postgresql://u:p%40w@h:6432/db?sslmode=require')).toEqual([['host', 'h'], ['port', '6432'], ['user', 'u'], ['password', 'p@w'], ['dbname', 'db'], ['sslmode', 'require']]);
    expect(renderConninfo([['host', 'h'], ['options', '-c a=b']])).toBe("host=h options='-c a=b'");
    expect(() => parseConninfo("host='db1")).toThrow(/unterminated/);
  });
});

describe('readBarmanVerify', () => {
  const checkOk = { exitCode: 0, output: 'Server main:\n\tPostgreSQL: OK' };
  it('is ok when barman check passes and verify-backup verified the backup', () => {
    expect(readBarmanVerify(checkOk, { exitCode: 0, output: 'Calling pg_verifybackup\nbackup successfully verified' })).toEqual({ verdict: 'ok' });
  });
  it("is damage when pg_verifybackup, through verify-backup, finds the backup's files wrong", () => {
    expect(readBarmanVerify(checkOk, { exitCode: 1, output: 'pg_verifybackup: error: "base/5/1259" has size 0 on disk but size 8192 in the manifest' }).verdict).toBe('damaged');
  });
  it("keeps a failed barman check (configuration, policy) out of the verdict when verify-backup verified the backup", () => {
    const failedCheck = { exitCode: 1, output: 'Server main:\n\tminimum redundancy requirements: FAILED (have 0 backups, expected at least 1)' };
    expect(readBarmanVerify(failedCheck, { exitCode: 0, output: 'backup successfully verified' })).toEqual({ verdict: 'ok' });
  });
  it('cannot tell when there is no verification and barman check fails, and says which check', () => {
    const reading = readBarmanVerify({ exitCode: 1, output: 'Server main:\n\tPostgreSQL: OK\n\treceive-wal running: FAILED (See the Barman log file for more details)' }, undefined);
    expect(reading.verdict).toBe('unknown');
    expect(reading.why).toMatch(/receive-wal running: FAILED/);
  });
  it('cannot tell when verify-backup failed without naming damage', () => {
    expect(readBarmanVerify(checkOk, { exitCode: 1, output: 'ERROR: Unknown backup' }).verdict).toBe('unknown');
  });
});
