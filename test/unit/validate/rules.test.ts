// The preflight rules on configurations written to files and read by the same parsers validate
// uses: each rule found where the danger is (rule, severity, file and line), and silent where
// there is none.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultTopology, validatePostgresTopology, type PostgresTopologySpec } from '../../../harness/engines/postgres/index.ts';
import { parsePgBackRestConf } from '../../../harness/engines/postgres/index.ts';
import { parsePostgresqlConf } from '../../../harness/validate/postgresql-conf.ts';
import { describeRules, rules, runPreflight } from '../../../harness/validate/rules/index.ts';
import { parseStandbyNames } from '../../../harness/engines/postgres/standby-names.ts';
import { copyDestinations, simpleCommands } from '../../../harness/engines/postgres/archive-command.ts';
import type { Finding, Rule, UserConfig } from '../../../harness/validate/rules/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'faultline-rules-'));
let files = 0;
const file = (name: string, lines: string[]) => {
  const path = join(dir, `${files++}-${name}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
};

/** A postgresql.conf that no rule objects to, for the default topology; tests override lines. */
const SAFE = [
  "archive_mode = on",
  "archive_command = 'pgbackrest --stanza=main archive-push %p'",
  'archive_timeout = 60s',
  `synchronous_standby_names = 'FIRST 1 ("pg-replica")'`,
];
const SAFE_PGBACKREST = ['[global]', 'repo1-host=backup.example', 'repo1-retention-full=2', '', '[main]', 'pg1-path=/var/lib/postgresql/15/main'];

interface Options {
  pgbackrest?: string[];
  topology?: PostgresTopologySpec;
}

/** A UserConfig from postgresql.conf lines (and pgbackrest.conf lines), parsed from real files. */
function config(lines: string[], options: Options = {}): UserConfig & { conf: string } {
  const conf = file('postgresql.conf', lines);
  return {
    conf,
    settings: parsePostgresqlConf(conf),
    ...(options.pgbackrest ? { pgbackrest: parsePgBackRestConf(file('pgbackrest.conf', options.pgbackrest)) } : {}),
    stanza: 'main',
    topology: validatePostgresTopology(options.topology ?? defaultTopology),
  };
}

/** SAFE with some settings replaced (by name) or added. */
function safeWith(...lines: string[]): string[] {
  const name = (line: string) => /^\w+/.exec(line)![0];
  const replaced = new Set(lines.map(name));
  return [...SAFE.filter((line) => !replaced.has(name(line))), ...lines];
}

const byId = (id: string): Rule => rules.find((rule) => rule.id === id)!;
const findings = (id: string, c: UserConfig): Finding[] => runPreflight(c).filter((f) => f.rule === id);
/** The 1-based line of the first line of `lines` that starts with `name`. */
const lineOf = (lines: string[], name: string) => lines.findIndex((line) => line.startsWith(name)) + 1;

function expectHit(id: string, c: UserConfig & { conf: string }, lines: string[], setting: string | undefined, message: RegExp): Finding {
  const found = findings(id, c);
  expect(found, `${id} should fire`).toHaveLength(1);
  const finding = found[0]!;
  expect(finding.severity).toBe(byId(id).severity);
  expect(finding.message).toMatch(message);
  if (setting) expect(finding.source).toEqual({ file: c.conf, line: lineOf(lines, setting) });
  else expect(finding.source).toEqual({ file: c.conf });
  return finding;
}

const topology = (nodes: PostgresTopologySpec['postgres']['nodes'], extra: Partial<PostgresTopologySpec['postgres']> = {}): PostgresTopologySpec => ({
  domains: ['san-a', 'san-b', 'backup-site'],
  postgres: { nodes, ...extra },
});
const PRIMARY = { name: 'pg-primary', role: 'primary', domain: 'san-a' } as const;
const REPLICA = { name: 'pg-replica', role: 'replica', domain: 'san-b' } as const;
const ARCHIVE = { name: 'pg-archive', role: 'archive', domain: 'backup-site' } as const;

describe('the rule set', () => {
  it('has unique kebab-case ids, one-sentence reasons and fixes, and links to the PostgreSQL, pgBackRest, Patroni or Redis docs', () => {
    const ids = describeRules().map((rule) => rule.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of describeRules()) {
      expect(rule.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(rule.reason).toMatch(/^[A-Z].*\.$/);
      expect(rule.fix).toMatch(/^[A-Z].*\.$/);
      expect(rule.docs).toMatch(/^https:\/\/(www\.postgresql\.org\/docs\/current\/[a-z-]+\.html(#[A-Z-]+)?|pgbackrest\.org\/configuration\.html#section-[a-z]+\/option-[a-z-]+|patroni\.readthedocs\.io\/en\/latest\/[a-z_]+\.html|redis\.io\/docs\/latest\/operate\/oss_and_stack\/management\/[a-z]+\/#[a-z0-9-]+)$/);
    }
  });

  it('finds nothing to warn about in a safe configuration', () => {
    const found = runPreflight(config(SAFE, { pgbackrest: SAFE_PGBACKREST }));
    expect(found.filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it('sorts findings errors first, then warnings, then information', () => {
    const found = runPreflight(config(['archive_timeout = 0', 'fsync = off', 'archive_mode = on', "archive_command = 'cp %p /mnt/archive/%f'", 'max_slot_wal_keep_size = 1GB'], { topology: topology([PRIMARY]) }));
    const severities = found.map((f) => f.severity);
    expect(severities).toEqual([...severities].sort((a, b) => ['error', 'warning', 'info'].indexOf(a) - ['error', 'warning', 'info'].indexOf(b)));
    expect(severities).toContain('error');
    expect(severities).toContain('warning');
  });

  it('turns a rule that throws into an error finding instead of crashing', () => {
    const broken: Rule = { ...byId('fsync-off'), severity: 'info', check: () => { throw new Error('boom'); } };
    const found = runPreflight(config(SAFE), [broken, byId('fsync-off')]);
    expect(found).toEqual([expect.objectContaining({ rule: 'fsync-off', severity: 'error', message: 'rule failed: boom' })]);
  });
});

describe('fsync-off, full-page-writes-off, data-sync-retry', () => {
  it('flags each dangerous setting at its own line', () => {
    const lines = safeWith('fsync = off', 'full_page_writes = false', 'data_sync_retry = on');
    const c = config(lines);
    expectHit('fsync-off', c, lines, 'fsync', /fsync is 'off'/);
    expectHit('full-page-writes-off', c, lines, 'full_page_writes', /full_page_writes is 'false'/);
    expectHit('data-sync-retry', c, lines, 'data_sync_retry', /data_sync_retry is 'on'/);
  });

  it('accepts them on (explicitly or by default), and data_sync_retry off', () => {
    for (const c of [config(safeWith('fsync = on', 'full_page_writes = yes', 'data_sync_retry = off')), config(SAFE)]) {
      expect(findings('fsync-off', c)).toEqual([]);
      expect(findings('full-page-writes-off', c)).toEqual([]);
      expect(findings('data-sync-retry', c)).toEqual([]);
    }
  });
});

describe('synchronous-commit-off', () => {
  it('flags off in any of its spellings', () => {
    for (const value of ['off', 'false', '0']) {
      const lines = safeWith(`synchronous_commit = ${value}`);
      expectHit('synchronous-commit-off', config(lines), lines, 'synchronous_commit', new RegExp(`synchronous_commit is '${value}'`));
    }
  });

  it('accepts on, local and remote_apply', () => {
    for (const value of ['on', 'local', 'remote_apply']) expect(findings('synchronous-commit-off', config(safeWith(`synchronous_commit = ${value}`)))).toEqual([]);
  });
});

describe('wal-level-minimal', () => {
  it('flags wal_level = minimal', () => {
    const lines = safeWith('wal_level = Minimal');
    expectHit('wal-level-minimal', config(lines), lines, 'wal_level', /wal_level is 'Minimal'/);
  });

  it('accepts replica, logical and the default', () => {
    expect(findings('wal-level-minimal', config(safeWith('wal_level = logical')))).toEqual([]);
    expect(findings('wal-level-minimal', config(SAFE))).toEqual([]);
  });
});

describe('archive-mode-off and archive-streamed-only', () => {
  it('flags archive_mode off as an error when no archive streams WAL', () => {
    const lines = ['archive_mode = off'];
    expectHit('archive-mode-off', config(lines, { topology: topology([PRIMARY, REPLICA]) }), lines, 'archive_mode', /archive_mode is 'off': no WAL is archived/);
  });

  it('flags an absent archive_mode (off by default) without a line', () => {
    const lines = ['fsync = on'];
    expectHit('archive-mode-off', config(lines, { topology: topology([PRIMARY, REPLICA]) }), lines, undefined, /archive_mode is 'off' \(the default\)/);
  });

  it('flags archive_mode off with pgBackRest, which receives WAL only through archive_command', () => {
    const lines = ['archive_mode = off'];
    expectHit('archive-mode-off', config(lines, { pgbackrest: SAFE_PGBACKREST }), lines, 'archive_mode', /pgBackRest receives WAL only through archive_command/);
  });

  it('only informs when the archive node streams WAL with pg_receivewal', () => {
    const lines = ['archive_mode = off'];
    const c = config(lines);
    expect(findings('archive-mode-off', c)).toEqual([]);
    expectHit('archive-streamed-only', c, lines, 'archive_mode', /only by streaming \(pg_receivewal\)/);
  });

  it('accepts archive_mode on or always', () => {
    for (const mode of ['on', 'always']) {
      const c = config(safeWith(`archive_mode = ${mode}`));
      expect(findings('archive-mode-off', c)).toEqual([]);
      expect(findings('archive-streamed-only', c)).toEqual([]);
    }
  });
});

describe('archive-command-noop', () => {
  const cases: Array<[string, RegExp]> = [
    ['/bin/true', /archive_command is '\/bin\/true': the archive never receives WAL/],
    ['true', /the archive never receives WAL/],
    [':', /the archive never receives WAL/],
    ['exit 0', /the archive never receives WAL/],
    ['cp %p /mnt/archive/%f || true', /'\|\| true' masks a failed copy/],
    ['cp %p /mnt/archive/%f; exit 0', /'; exit 0' masks a failed copy/],
    ['rsync -a %p backup:/archive/%f || /bin/true', /masks a failed copy/],
    ['echo archived', /names neither %p nor %f/],
  ];
  for (const [command, message] of cases) {
    it(`flags archive_command '${command}'`, () => {
      const lines = safeWith(`archive_command = '${command}'`);
      expectHit('archive-command-noop', config(lines), lines, 'archive_command', message);
    });
  }

  it('flags archive_mode on with no archive_command and no archive_library', () => {
    const lines = ['archive_mode = on', 'archive_timeout = 60s'];
    expectHit('archive-command-noop', config(lines), lines, undefined, /archive_command is empty and archive_library is not set/);
  });

  it('accepts a command that copies and fails when the copy fails', () => {
    for (const command of ['test ! -f /mnt/archive/%f && cp %p /mnt/archive/%f', 'pgbackrest --stanza=main archive-push %p', 'cp %p /mnt/archive/%f && true']) {
      expect(findings('archive-command-noop', config(safeWith(`archive_command = '${command}'`)))).toEqual([]);
    }
  });

  it('ignores archive_command when archiving is off or an archive_library archives', () => {
    expect(findings('archive-command-noop', config(['archive_mode = off', "archive_command = '/bin/true'"]))).toEqual([]);
    expect(findings('archive-command-noop', config(['archive_mode = on', "archive_library = 'basic_archive'"]))).toEqual([]);
  });
});

describe('archive-same-domain', () => {
  it("flags an archive node in the primary's failure domain", () => {
    const c = config(SAFE, { topology: topology([PRIMARY, REPLICA, { ...ARCHIVE, domain: 'san-a' }]) });
    const found = findings('archive-same-domain', c);
    expect(found).toEqual([expect.objectContaining({ severity: 'error', source: { file: 'topology' } })]);
    expect(found[0]!.message).toMatch(/archive node 'pg-archive' is in failure domain 'san-a', the same as the primary 'pg-primary'/);
  });

  it('flags a local pgBackRest repository inside the data directory, at the repo path line', () => {
    const pgbackrest = ['[global]', 'repo1-path=/var/lib/postgresql/15/main/backups', 'repo1-retention-full=2', '[main]', 'pg1-path=/var/lib/postgresql/15/main'];
    const c = config(SAFE, { pgbackrest });
    const found = findings('archive-same-domain', c);
    expect(found).toHaveLength(1);
    expect(found[0]!.message).toMatch(/repo1-path is '\/var\/lib\/postgresql\/15\/main\/backups', inside the data directory \(pg1-path/);
    expect(found[0]!.source).toEqual({ file: c.pgbackrest!.file, line: 2 });
  });

  it('accepts that repository path on a repository host or in an object store', () => {
    for (const where of ['repo1-host=backup.example', 'repo1-type=s3']) {
      const pgbackrest = ['[global]', 'repo1-path=/var/lib/postgresql/15/main/backups', where, 'repo1-retention-full=2', '[main]', 'pg1-path=/var/lib/postgresql/15/main'];
      expect(findings('archive-same-domain', config(SAFE, { pgbackrest }))).toEqual([]);
    }
  });

  it('flags archive_command copying into the data directory, a relative path, or a pg_wal directory', () => {
    const cases: Array<[string, RegExp]> = [
      ['cp %p /srv/pgdata/archive/%f', /copies WAL to '\/srv\/pgdata\/archive\/%f', inside the data directory \(data_directory '\/srv\/pgdata'\)/],
      ['cp %p archive/%f', /copies WAL to 'archive\/%f', inside the data directory \(archive_command runs in the data directory\)/],
      ['rsync -a %p /mnt/other/pg_wal/%f', /inside a pg_wal directory/],
    ];
    for (const [command, message] of cases) {
      const lines = safeWith("data_directory = '/srv/pgdata'", `archive_command = '${command}'`);
      expectHit('archive-same-domain', config(lines), lines, 'archive_command', message);
    }
  });

  it('flags a local copy when the topology has no archive node and no pgBackRest', () => {
    const lines = safeWith("archive_command = 'cp %p /mnt/archive/%f'");
    expectHit('archive-same-domain', config(lines, { topology: topology([PRIMARY, REPLICA]) }), lines, 'archive_command', /local path '\/mnt\/archive\/%f' and the topology has no archive node/);
  });

  it('accepts a copy to another host, or a local path when an archive node exists elsewhere', () => {
    const remote = safeWith("data_directory = '/srv/pgdata'", "archive_command = 'rsync -a %p backup:/srv/pgdata/archive/%f'");
    expect(findings('archive-same-domain', config(remote, { topology: topology([PRIMARY, REPLICA]) }))).toEqual([]);
    expect(findings('archive-same-domain', config(safeWith("archive_command = 'cp %p /mnt/archive/%f'")))).toEqual([]);
  });
});

describe('archive-timeout-zero', () => {
  it('flags archive_timeout 0, or absent, while archiving', () => {
    const lines = safeWith('archive_timeout = 0');
    expectHit('archive-timeout-zero', config(lines), lines, 'archive_timeout', /archive_timeout is '0'/);
    const absent = SAFE.filter((line) => !line.startsWith('archive_timeout'));
    expectHit('archive-timeout-zero', config(absent), absent, undefined, /archive_timeout is '0' \(the default\)/);
  });

  it('accepts a timeout, in seconds or with a unit, and ignores it when not archiving', () => {
    expect(findings('archive-timeout-zero', config(safeWith('archive_timeout = 60')))).toEqual([]);
    expect(findings('archive-timeout-zero', config(safeWith('archive_timeout = 1min')))).toEqual([]);
    expect(findings('archive-timeout-zero', config(['archive_mode = off']))).toEqual([]);
  });
});

describe('pgbackrest-queue-max', () => {
  it('flags archive-push-queue-max, saying the whole queue goes with archive-async', () => {
    const pgbackrest = [...SAFE_PGBACKREST, '[global:archive-push]', 'archive-async=y', 'archive-push-queue-max=1GiB'];
    const c = config(SAFE, { pgbackrest });
    const found = findings('pgbackrest-queue-max', c);
    expect(found).toEqual([expect.objectContaining({ severity: 'error', source: { file: c.pgbackrest!.file, line: pgbackrest.length } })]);
    expect(found[0]!.message).toMatch(/archive-push-queue-max is '1GiB'.*with archive-async=y the whole queue is dropped/);
  });

  it('flags it without archive-async too, where pgBackRest drops the segment', () => {
    const found = findings('pgbackrest-queue-max', config(SAFE, { pgbackrest: [...SAFE_PGBACKREST, 'archive-push-queue-max=1073741824'] }));
    expect(found).toHaveLength(1);
    expect(found[0]!.message).toMatch(/reports it archived and the segment is dropped/);
  });

  it('accepts archive-async without a queue limit, or a limit for another stanza', () => {
    expect(findings('pgbackrest-queue-max', config(SAFE, { pgbackrest: [...SAFE_PGBACKREST, 'archive-async=y'] }))).toEqual([]);
    expect(findings('pgbackrest-queue-max', config(SAFE, { pgbackrest: [...SAFE_PGBACKREST, '[other]', 'archive-push-queue-max=1GiB'] }))).toEqual([]);
  });
});

describe('retention-archive', () => {
  it('flags retention-archive below retention-full, naming both values', () => {
    const pgbackrest = ['[global]', 'repo1-host=backup.example', 'repo1-retention-full=4', 'repo1-retention-archive=2'];
    const c = config(SAFE, { pgbackrest });
    const found = findings('retention-archive', c);
    expect(found).toEqual([expect.objectContaining({ severity: 'error', source: { file: c.pgbackrest!.file, line: 4 } })]);
    expect(found[0]!.message).toMatch(/repo1-retention-archive is '2' but repo1-retention-full is '4' \(line 3\)/);
  });

  it('compares with retention-diff for type diff, and flags type incr', () => {
    const diff = ['[global]', 'repo2-type=s3', 'repo2-retention-full=2', 'repo2-retention-diff=6', 'repo2-retention-archive-type=diff', 'repo2-retention-archive=3'];
    expect(findings('retention-archive', config(SAFE, { pgbackrest: diff }))[0]!.message).toMatch(/repo2-retention-archive is '3' but repo2-retention-diff is '6'/);
    const incr = ['[global]', 'repo1-retention-full=2', 'repo1-retention-archive-type=incr', 'repo1-retention-archive=2'];
    const found = findings('retention-archive', config(SAFE, { pgbackrest: incr }));
    expect(found).toHaveLength(1);
    expect(found[0]!.message).toMatch(/repo1-retention-archive-type is 'incr'/);
    expect(found[0]!.source!.line).toBe(3);
  });

  it('accepts retention-archive unset or at least the backups kept', () => {
    expect(findings('retention-archive', config(SAFE, { pgbackrest: SAFE_PGBACKREST }))).toEqual([]);
    expect(findings('retention-archive', config(SAFE, { pgbackrest: ['[global]', 'repo1-retention-full=2', 'repo1-retention-archive=2'] }))).toEqual([]);
  });
});

describe('no-replica', () => {
  it('flags a topology without a replica', () => {
    const found = findings('no-replica', config(SAFE, { topology: topology([PRIMARY, ARCHIVE]) }));
    expect(found).toEqual([expect.objectContaining({ severity: 'warning', source: { file: 'topology' } })]);
    expect(found[0]!.message).toMatch(/no replica: losing the primary 'pg-primary' means a restore/);
  });

  it('accepts a topology with one', () => {
    expect(findings('no-replica', config(SAFE))).toEqual([]);
  });
});

describe('async-replica', () => {
  it('flags an empty synchronous_standby_names when a replica exists', () => {
    const lines = safeWith("synchronous_standby_names = ''");
    expectHit('async-replica', config(lines), lines, 'synchronous_standby_names', /synchronous_standby_names is empty: commits do not wait for the replica 'pg-replica'/);
    const absent = SAFE.filter((line) => !line.startsWith('synchronous_standby_names'));
    expectHit('async-replica', config(absent), absent, undefined, /is empty \(the default\)/);
  });

  it('flags synchronous_commit = local, which does not wait for standbys', () => {
    const lines = safeWith('synchronous_commit = local');
    expectHit('async-replica', config(lines), lines, 'synchronous_commit', /synchronous_commit is 'local': commits do not wait/);
  });

  it('stays silent with a synchronous replica, without replicas, and leaves off to synchronous-commit-off', () => {
    expect(findings('async-replica', config(SAFE))).toEqual([]);
    expect(findings('async-replica', config(["synchronous_standby_names = ''"], { topology: topology([PRIMARY, ARCHIVE]) }))).toEqual([]);
    expect(findings('async-replica', config(safeWith('synchronous_commit = off', "synchronous_standby_names = ''")))).toEqual([]);
  });
});

describe('sync-standby-archive', () => {
  const flagged = ['ANY 1 ("pg-replica", "pg-archive")', 'FIRST 1 ("pg-archive", "pg-replica")', '1 (pg-archive, pg-replica)', 'pg-archive, pg-replica', '"pg-archive"', '*', 'first 1 (*)'];
  for (const value of flagged) {
    it(`flags synchronous_standby_names '${value}'`, () => {
      const lines = safeWith(`synchronous_standby_names = '${value}'`);
      expectHit('sync-standby-archive', config(lines), lines, 'synchronous_standby_names', /'pg-archive'.*cannot be promoted/);
    });
  }

  const safe = ['FIRST 1 ("pg-replica", "pg-archive")', 'ANY 2 ("pg-replica", "pg-archive")', 'pg-replica', '"PG-Replica", "pg-archive"', 'FIRST 1 ("pg-replica", *)', ''];
  for (const value of safe) {
    it(`accepts synchronous_standby_names '${value}'`, () => {
      expect(findings('sync-standby-archive', config(safeWith(`synchronous_standby_names = '${value}'`)))).toEqual([]);
    });
  }

  it('accepts * when the topology has no archive', () => {
    expect(findings('sync-standby-archive', config(safeWith("synchronous_standby_names = '*'"), { topology: topology([PRIMARY, REPLICA]) }))).toEqual([]);
  });
});

describe('sync-standby-unknown', () => {
  it('flags each name that is no node of the topology', () => {
    const lines = safeWith(`synchronous_standby_names = 'ANY 1 ("pg-replica", "standby9")'`);
    expectHit('sync-standby-unknown', config(lines), lines, 'synchronous_standby_names', /names 'standby9', which is no node of the topology \(nodes: pg-primary, pg-replica, pg-archive\)/);
  });

  it('accepts node names in any case, and *', () => {
    expect(findings('sync-standby-unknown', config(safeWith(`synchronous_standby_names = 'FIRST 1 ("PG-REPLICA", *)'`)))).toEqual([]);
  });
});

describe('replication-no-slot', () => {
  it('flags no replication slots and no wal_keep_size while standbys exist', () => {
    const lines = safeWith('max_replication_slots = 0');
    expectHit('replication-no-slot', config(lines), lines, 'max_replication_slots', /max_replication_slots is '0' and wal_keep_size is '0'/);
  });

  it('accepts slots, a wal_keep_size, or a lone primary', () => {
    expect(findings('replication-no-slot', config(SAFE))).toEqual([]);
    expect(findings('replication-no-slot', config(safeWith('max_replication_slots = 0', 'wal_keep_size = 1GB')))).toEqual([]);
    expect(findings('replication-no-slot', config(safeWith('max_replication_slots = 0'), { topology: topology([PRIMARY]) }))).toEqual([]);
  });
});

describe('slot-wal-limit', () => {
  it('flags a max_slot_wal_keep_size, naming it', () => {
    for (const value of ['10GB', '1024', '0']) {
      const lines = safeWith(`max_slot_wal_keep_size = ${value}`);
      expectHit('slot-wal-limit', config(lines), lines, 'max_slot_wal_keep_size', new RegExp(`max_slot_wal_keep_size is '${value}'`));
    }
  });

  it('accepts -1, explicitly or by default', () => {
    expect(findings('slot-wal-limit', config(safeWith('max_slot_wal_keep_size = -1')))).toEqual([]);
    expect(findings('slot-wal-limit', config(SAFE))).toEqual([]);
  });
});

describe('the readers the rules share', () => {
  it('reads synchronous_standby_names in each of its forms', () => {
    expect(parseStandbyNames('')).toBeUndefined();
    expect(parseStandbyNames('a, b')).toEqual({ method: 'first', count: 1, names: ['a', 'b'] });
    expect(parseStandbyNames('2 (a, "b,c")')).toEqual({ method: 'first', count: 2, names: ['a', 'b,c'] });
    expect(parseStandbyNames('any 1 ("x""y", *)')).toEqual({ method: 'any', count: 1, names: ['x"y', '*'] });
  });

  it('splits an archive_command into simple commands and finds where it copies', () => {
    expect(simpleCommands(`test ! -f '/a b/%f' && cp %p "/a b/%f" || true`).map((c) => [c.after, ...c.words])).toEqual([
      ['', 'test', '!', '-f', '/a b/%f'],
      ['&&', 'cp', '%p', '/a b/%f'],
      ['||', 'true'],
    ]);
    expect(copyDestinations('test ! -f /x/%f && /usr/bin/cp -p %p /x/%f; rsync -a %p host:/y/%f')).toEqual(['/x/%f', 'host:/y/%f']);
  });
});
