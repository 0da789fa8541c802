// `faultline prove-backup` refuses bad command lines with exit code 2 and a message that says what
// to write, before any container starts (DOCKER_HOST points nowhere, so nothing could start).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers.ts';

const noDocker = { DOCKER_HOST: 'unix:///nonexistent/faultline-test.sock' };
const dir = mkdtempSync(join(tmpdir(), 'faultline-prove-cli-'));
const base = join(dir, 'base');
mkdirSync(base);
writeFileSync(join(base, 'PG_VERSION'), '17\n');
const conf = join(dir, 'pgbackrest.conf');
writeFileSync(conf, '[global]\nrepo1-path=/nonexistent\n\n[main]\npg1-path=/pg\n');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const prove = (args: string[]) => cli(['prove-backup', ...args], { env: noDocker });

// Each test is its own process: run them side by side.
describe.concurrent('faultline prove-backup with a bad command line', () => {
  it('refuses no backup at all, naming the options that name one', async () => {
    const result = await prove([]);
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain('--pgbackrest-conf');
    expect(result.all).toContain('--base-backup');
  });

  it('refuses --stanza without --pgbackrest-conf', async () => {
    const result = await prove(['--stanza', 'main']);
    expect(result.exitCode).toBe(2);
    expect(result.all).toMatch(/--stanza needs --pgbackrest-conf FILE/);
  });

  it('refuses --wal-archive without --base-backup', async () => {
    const result = await prove(['--wal-archive', dir]);
    expect(result.exitCode).toBe(2);
    expect(result.all).toMatch(/--wal-archive needs --base-backup DIR/);
  });

  it('refuses --pgbackrest-conf without --stanza, naming the file', async () => {
    const result = await prove(['--pgbackrest-conf', conf]);
    expect(result.exitCode).toBe(2);
    expect(result.all).toMatch(/--pgbackrest-conf needs --stanza NAME/);
    expect(result.all).toContain(conf);
  });

  it.each([
    ['pgBackRest and a base backup', ['--pgbackrest-conf', conf, '--stanza', 'main', '--base-backup', base]],
    ['a base backup and a Redis directory', ['--base-backup', base, '--redis-dir', dir]],
    ['pgBackRest and a Redis directory', ['--pgbackrest-conf', conf, '--stanza', 'main', '--redis-dir', dir]],
  ])('refuses two backups at once: %s', async (_what, args) => {
    const result = await prove(args);
    expect(result.exitCode).toBe(2);
    expect(result.all).toMatch(/Name one backup/);
  });

  it('refuses --target-time without a zone, showing one with it', async () => {
    const result = await prove(['--base-backup', base, '--target-time', '2026-12-06T23:00:00']);
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain("--target-time must be an ISO 8601 time with its zone, e.g. 2026-12-06T23:00:00Z: got '2026-12-06T23:00:00'");
  });

  it('refuses a --target-time that is not a time', async () => {
    const result = await prove(['--base-backup', base, '--target-time', 'yesterday Z']);
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain('--target-time must be an ISO 8601 time');
  });

  it.each(['5000060', '0/5000060/1', 'G/1', '0/123456789'])("refuses the malformed --target-lsn '%s'", async (lsn) => {
    const result = await prove(['--base-backup', base, '--target-lsn', lsn]);
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain(`--target-lsn must be a WAL position like 0/5000060: got '${lsn}'`);
  });

  it('refuses --target-time with --target-lsn', async () => {
    const result = await prove(['--base-backup', base, '--target-time', '2026-12-06T23:00:00Z', '--target-lsn', '0/5000060']);
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain('Give --target-time or --target-lsn, not both');
  });

  it.each([['--target-time', '2026-12-06T23:00:00Z'], ['--target-lsn', '0/5000060']])('refuses %s with --redis-dir: a Redis backup restores as a whole', async (option, value) => {
    const result = await prove(['--redis-dir', dir, option, value]);
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain('--target-time and --target-lsn are for PostgreSQL');
  });

  it('refuses a --base-backup that does not exist, naming the path', async () => {
    const missing = join(dir, 'no-such-backup');
    const result = await prove(['--base-backup', missing]);
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain(`The base backup '${missing}' (--base-backup) does not exist`);
  });

  it('refuses a base backup of a PostgreSQL major faultline cannot run', async () => {
    const old = join(dir, 'old');
    mkdirSync(old);
    writeFileSync(join(old, 'PG_VERSION'), '14\n');
    const result = await prove(['--base-backup', old]);
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain('PostgreSQL 14');
  });

  it('refuses a pgBackRest stanza the configuration does not have, naming the ones it has', async () => {
    const result = await prove(['--pgbackrest-conf', conf, '--stanza', 'prod']);
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain("Stanza 'prod' (--stanza) is not in");
    expect(result.all).toContain("'main'");
  });

  it('refuses an unknown option, naming it', async () => {
    const result = await prove(['--base-backup', base, '--frobnicate']);
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain('frobnicate');
  });
});

describe('faultline prove-backup --help', () => {
  it('exits 0 and lists every option and every check', async () => {
    const result = await prove(['--help']);
    expect(result.exitCode).toBe(0);
    for (const option of ['--pgbackrest-conf', '--stanza', '--base-backup', '--wal-archive', '--redis-dir', '--target-time', '--target-lsn', '--max-age', '--rto-budget', '--check', '--db-user', '--timeout', '--out', '--json', '--junit']) {
      expect(result.all).toContain(`${option} `);
    }
    for (const check of ['restore-completed', 'recovery-reached', 'freshness', 'integrity', 'user-checks', 'rto', 'backup-unchanged']) expect(result.all).toContain(check);
  });
});
