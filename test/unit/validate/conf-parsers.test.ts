// The grammars of the user's configuration files, as the servers read them.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBoolean, parseMemory, parsePostgresqlConf, parseTime } from '../../../harness/validate/postgresql-conf.ts';
import { parsePgBackRestConf, pgBackRestOption } from '../../../harness/engines/postgres/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'faultline-conf-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('postgresql.conf', () => {
  it('reads both forms, comments, quotes with their escapes, and lets later lines override', () => {
    const conf = parsePostgresqlConf(
      file(
        'basic.conf',
        [
          '# a comment',
          "archive_command = 'test ! -f /mnt/server/archivedir/%f && cp %p /mnt/server/archivedir/%f'  # trailing comment",
          'fsync off',
          "log_line_prefix = 'it''s %m \\t'",
          'Shared_Buffers = 128MB',
          'shared_buffers = 1GB',
          '',
        ].join('\n'),
      ),
    );
    expect(conf.get('archive_command')!.value).toBe('test ! -f /mnt/server/archivedir/%f && cp %p /mnt/server/archivedir/%f');
    expect(conf.get('fsync')).toMatchObject({ value: 'off', line: 3 });
    expect(conf.get('log_line_prefix')!.value).toBe("it's %m \t");
    expect(conf.get('shared_buffers')).toMatchObject({ value: '1GB', line: 6 });
    expect([...conf.keys()].at(-1)).toBe('shared_buffers'); // the overriding line stands where it is
  });

  it('follows include, include_if_exists and include_dir relative to the including file', () => {
    mkdirSync(join(dir, 'conf.d'), { recursive: true });
    file('conf.d/01-first.conf', 'wal_level = replica\n');
    file('conf.d/02-second.conf', 'wal_level = logical\nmax_wal_senders = 4\n');
    file('conf.d/.hidden.conf', 'wal_level = minimal\n');
    file('extra.conf', 'synchronous_commit = local\n');
    const conf = parsePostgresqlConf(file('main.conf', "include 'extra.conf'\ninclude_if_exists = 'missing.conf'\ninclude_dir 'conf.d'\nfsync = on\n"));
    expect(conf.get('synchronous_commit')!.value).toBe('local');
    expect(conf.get('wal_level')).toMatchObject({ value: 'logical', file: join(dir, 'conf.d', '02-second.conf'), line: 1 });
    expect(conf.get('max_wal_senders')!.value).toBe('4');
  });

  it('refuses what it cannot read, naming file and line', () => {
    expect(() => parsePostgresqlConf(file('bad1.conf', "fsync = on\narchive_command = 'cp %p\n"))).toThrow(/bad1\.conf:2: the quoted value is not closed/);
    expect(() => parsePostgresqlConf(file('bad2.conf', 'fsync =\n'))).toThrow(/bad2\.conf:1: 'fsync' has no value/);
    expect(() => parsePostgresqlConf(file('bad3.conf', '= on\n'))).toThrow(/bad3\.conf:1: '= on' does not start with a setting name/);
    expect(() => parsePostgresqlConf(file('bad4.conf', "include 'nothere.conf'\n"))).toThrow(/Cannot read the PostgreSQL configuration file .*nothere\.conf/);
    expect(() => parsePostgresqlConf(file('loop.conf', "include 'loop.conf'\n"))).toThrow(/includes nest deeper than 10 files/);
  });

  it('reads units and booleans as PostgreSQL does', () => {
    expect(parseMemory('1GB')).toBe(1024 ** 3);
    expect(parseMemory('512kB')).toBe(512 * 1024);
    expect(parseMemory('64', 'MB')).toBe(64 * 1024 ** 2);
    expect(parseMemory('1 gb')).toBeUndefined(); // units are case-sensitive
    expect(parseTime('200ms')).toBe(200);
    expect(parseTime('1min')).toBe(60_000);
    expect(parseTime('60', 's')).toBe(60_000);
    expect(parseBoolean('on')).toBe(true);
    expect(parseBoolean('OFF')).toBe(false);
    expect(parseBoolean('maybe')).toBeUndefined();
  });
});

describe('pgbackrest.conf', () => {
  const conf = parsePgBackRestConf(
    file(
      'pgbackrest.conf',
      ['[global]', 'repo1-path=/var/lib/pgbackrest', 'archive-async=y', '', '[global:archive-push]', 'archive-push-queue-max=1GiB', '', '# the stanza', '[main]', 'pg1-path=/var/lib/postgresql/15/main', 'tls-server-auth=a=main', 'tls-server-auth=b=main', ''].join('\n'),
    ),
  );

  it('reads sections, repeated keys, and resolves an option for a command as pgBackRest does', () => {
    expect(pgBackRestOption(conf, 'archive-push-queue-max', 'main', 'archive-push')).toMatchObject({ values: ['1GiB'], section: 'global:archive-push', line: 6 });
    expect(pgBackRestOption(conf, 'archive-push-queue-max', 'main', 'backup')).toBeUndefined();
    expect(pgBackRestOption(conf, 'repo1-path', 'main')).toMatchObject({ values: ['/var/lib/pgbackrest'], section: 'global' });
    expect(conf.sections.get('main')!.get('tls-server-auth')!.values).toEqual(['a=main', 'b=main']);
  });

  it('refuses what it cannot read, naming file and line', () => {
    expect(() => parsePgBackRestConf(file('pb1.conf', 'repo1-path=/x\n'))).toThrow(/pb1\.conf:1: option 'repo1-path' comes before any section/);
    expect(() => parsePgBackRestConf(file('pb2.conf', '[global]\nnot an option\n'))).toThrow(/pb2\.conf:2: 'not an option' is not an option/);
    expect(() => parsePgBackRestConf(file('pb3.conf', '[global\n'))).toThrow(/pb3\.conf:1: '\[global' is not a section header/);
  });
});
