// 'faultline prove-backup': restore the user's real backup into a scratch node and prove it
// (restore completed, point reached, freshness, integrity, their own checks, time to restore).

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { installInterruptCleanup } from '../cluster/docker/index.ts';
import type { BackupSource, RecoveryTarget } from '../cluster/engine.ts';
import { UsageError } from '../errors.ts';
import { createProgress } from '../progress.ts';
import { campaignExitCode, defaultParallel, formatCampaign, parseShard } from '../campaign/index.ts';
import { expandSource, formatProof, preflight, proveBackup, proveFleet } from '../prove/index.ts';
import { exitCodeOf } from '../report/result.ts';
import { toJUnit } from '../report/junit.ts';
import { checkWritable, parse, parseBudget, type Command } from './options.ts';

export const usage =
  'faultline prove-backup --pgbackrest-conf FILE --stanza NAME [options]\n' +
  'faultline prove-backup --barman-conf FILE --server NAME [options]\n' +
  'faultline prove-backup --base-backup DIR|TAR [--wal-archive DIR] [options]\n' +
  'faultline prove-backup --redis-dir DIR [options]\n\n' +
  'Restores your real backup into a scratch node (the backup\'s own PostgreSQL major, a volume of its own, no\n' +
  'network) and proves it. Your backup is only read: mounted read-only, and listed before and after.\n' +
  '  --pgbackrest-conf FILE --stanza NAME   a pgBackRest repository (repo1-path in FILE, read on this machine);\n' +
  "                      a list ('main,sales') or '*' (every stanza of FILE) proves a fleet, a folder each\n" +
  '  --barman-conf FILE --server NAME   a Barman server\'s catalogue on this machine (barman_home in FILE, its\n' +
  '                      configuration_files_directory too): its newest DONE backup and WAL, by barman recover\n' +
  '  --base-backup DIR|TAR   what pg_basebackup wrote (plain, or tar: base.tar[.gz] with pg_wal.tar, backup_manifest)\n' +
  '  --wal-archive DIR   the folder your archive_command copies WAL into (segments plain, .gz or .lz4)\n' +
  '  --redis-dir DIR     a Redis or Valkey data directory: dump.rdb and/or the append-only files (appendonlydir/)\n' +
  '  --target-time TIME  replay up to this time (ISO 8601, e.g. 2026-12-06T23:00:00Z) instead of the newest point\n' +
  '  --target-lsn LSN    replay up to this WAL position (e.g. 0/5000060)\n' +
  '  --max-age D         the newest restored data may be at most this old (e.g. 26h): an RPO for the backups\n' +
  '  --rto-budget D      the restore must serve within this long (e.g. 30m)\n' +
  '  --check FILE        your own SQL checks: queries separated by ;, each returning one row with one true boolean;\n' +
  '                      a line "-- db: NAME" runs the queries after it in database NAME (default postgres)\n' +
  '  --db-user NAME      the superuser to check the restored server as, over its local socket (default postgres)\n' +
  '  --timeout D         how long restore and replay may take in all (default 60m)\n' +
  '  --parallel N        a fleet: this many proofs at once (default: what the machine holds)\n' +
  '  --shard i/n         a fleet: only this runner\'s share of it (CI matrices; faultline report --merge joins them)\n' +
  '  --out DIR           where the proof\'s folder goes: DIR/prove-backup/<time>/, or DIR/prove-backup-<stanza>/<time>/\n' +
  '                      and campaign.json for a fleet (default faultline-out)\n' +
  '  --json              print result.json instead of the summary\n' +
  '  --junit FILE        also write the JUnit report there\n' +
  'Checks: restore-completed, recovery-reached, freshness, integrity (pg_verifybackup, pgbackrest verify,\n' +
  'pg_amcheck, pg_checksums), user-checks, rto, backup-unchanged.\n' +
  'Exit code: 0 every check held; 1 a check failed or could not tell; 2 bad input (found before anything starts);\n' +
  '3 environment error, or faultline\'s own failure.';

/** A time as typed: ISO 8601 with a zone. */
function parseTime(text: string): Date {
  const time = new Date(text);
  if (Number.isNaN(time.getTime()) || !/(Z|[+-]\d\d:?\d\d)$/.test(text.trim())) {
    throw new UsageError(`--target-time must be an ISO 8601 time with its zone, e.g. 2026-12-06T23:00:00Z: got '${text}'`);
  }
  return time;
}

export const command: Command = async (args) => {
  const { values } = parse(
    args,
    {
      'pgbackrest-conf': { type: 'string' },
      stanza: { type: 'string' },
      'barman-conf': { type: 'string' },
      server: { type: 'string' },
      'base-backup': { type: 'string' },
      'wal-archive': { type: 'string' },
      'redis-dir': { type: 'string' },
      'target-time': { type: 'string' },
      'target-lsn': { type: 'string' },
      'max-age': { type: 'string' },
      'rto-budget': { type: 'string' },
      check: { type: 'string' },
      'db-user': { type: 'string' },
      timeout: { type: 'string' },
      parallel: { type: 'string' },
      shard: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      junit: { type: 'string' },
    },
    'prove-backup',
  );
  const source = sourceOf(values);
  if (values['target-time'] && values['target-lsn']) throw new UsageError('Give --target-time or --target-lsn, not both');
  if (source.kind === 'redis-dir' && (values['target-time'] || values['target-lsn'])) throw new UsageError('--target-time and --target-lsn are for PostgreSQL: a Redis dump or append-only file restores as a whole');
  let target: RecoveryTarget = { kind: 'latest' };
  if (values['target-time']) target = { kind: 'time', time: parseTime(values['target-time']) };
  if (values['target-lsn']) {
    if (!/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(values['target-lsn'])) throw new UsageError(`--target-lsn must be a WAL position like 0/5000060: got '${values['target-lsn']}'`);
    target = { kind: 'lsn', lsn: values['target-lsn'].toUpperCase() };
  }
  if (values.junit) checkWritable(values.junit);
  const request = {
    source,
    target,
    ...(values['max-age'] ? { maxAgeMs: parseBudget(values['max-age'], '--max-age')! } : {}),
    ...(values['rto-budget'] ? { rtoBudgetMs: parseBudget(values['rto-budget'], '--rto-budget')! } : {}),
    ...(values.timeout ? { timeoutMs: parseBudget(values.timeout, '--timeout')! } : {}),
    ...(values.check ? { checkFile: resolve(values.check) } : {}),
    ...(values['db-user'] ? { dbUser: values['db-user'] } : {}),
    outDir: values.out ?? 'faultline-out',
  };
  const log = createProgress();
  const sources = expandSource(source);
  if (sources.length === 1 && !values.shard) {
    const ready = await preflight(request); // bad input: exit 2 before anything starts
    installInterruptCleanup();
    const result = await proveBackup({ ...request, log }, ready);
    log.pause();
    if (values.junit) writeFileSync(values.junit, toJUnit([result]));
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatProof(result)}\n`);
    return exitCodeOf([result.verdict]);
  }
  // A fleet: a folder per backup, and the campaign's files over them.
  const requests = sources.map((one) => ({ ...request, source: one, name: `prove-backup-${one.options.stanza ?? sources.indexOf(one) + 1}` }));
  const parallel = values.parallel === undefined ? defaultParallel().parallel : parseParallel(values.parallel);
  installInterruptCleanup();
  const { results, summary } = await proveFleet(requests, {
    parallel,
    outDir: request.outDir,
    log,
    ...(values.shard ? { shard: parseShard(values.shard) } : {}),
    replay: (one) => replayOf(args, one.source.options.stanza ?? ''),
  });
  log.pause();
  if (values.junit) writeFileSync(values.junit, toJUnit(results));
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(`${results.map(formatProof).join('\n\n')}\n\n${formatCampaign(summary)}\nfiles: ${resolve(request.outDir)}/campaign.json, junit.xml, report.html\n`);
  return campaignExitCode(summary);
};

/** The command that proves one stanza of a fleet again: the same options, one stanza, no fleet options. */
export function replayOf(args: readonly string[], stanza: string): string {
  const fleetOnly = /^--(stanza|parallel|shard)(=|$)/;
  const kept = args.filter((arg, i) => !fleetOnly.test(arg) && !(/^--(stanza|parallel|shard)$/.test(args[i - 1] ?? '')));
  return ['faultline', 'prove-backup', ...kept, '--stanza', stanza].map((a) => (/^[\w./@:=,+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** --parallel N (1 to 16). */
function parseParallel(text: string): number {
  const parallel = Number(text);
  if (!/^\d+$/.test(text) || parallel < 1 || parallel > 16) throw new UsageError(`--parallel must be a whole number of proofs at once, 1 to 16: got '${text}'`);
  return parallel;
}

/** The one backup the options name; two kinds at once, or half of one, is a usage error. */
function sourceOf(values: Record<string, string | boolean | undefined>): BackupSource {
  const text = (key: string) => (typeof values[key] === 'string' ? (values[key] as string) : undefined);
  const conf = text('pgbackrest-conf');
  const base = text('base-backup');
  const redis = text('redis-dir');
  const barman = text('barman-conf');
  if ([conf, base, redis, barman].filter(Boolean).length > 1) throw new UsageError('Name one backup: --pgbackrest-conf with --stanza, --barman-conf with --server, --base-backup (with --wal-archive), or --redis-dir, not two of them');
  if (text('server') && !barman) throw new UsageError('--server needs --barman-conf FILE: the barman.conf that names the server (it goes with no other backup)');
  if (text('stanza') && !conf) throw new UsageError('--stanza needs --pgbackrest-conf FILE: the pgbackrest.conf that names the repository (it goes with no other backup)');
  if (text('wal-archive') && !base) throw new UsageError('--wal-archive needs --base-backup DIR: the base backup replay starts from (it goes with no other backup)');
  if (barman) {
    const server = text('server');
    if (!server) throw new UsageError(`--barman-conf needs --server NAME: the Barman server of ${barman} to prove`);
    return { kind: 'barman', options: { conf: resolve(barman), server }, label: `Barman server '${server}' of ${resolve(barman)}` };
  }
  if (redis) return { kind: 'redis-dir', options: { dir: resolve(redis) }, label: `Redis data directory ${resolve(redis)}` };
  if (conf) {
    const stanza = text('stanza');
    if (!stanza) throw new UsageError(`--pgbackrest-conf needs --stanza NAME: the stanza of ${conf} to prove`);
    return { kind: 'pgbackrest', options: { conf: resolve(conf), stanza }, label: `stanza '${stanza}' of ${resolve(conf)}` };
  }
  if (base) {
    const wal = text('wal-archive');
    return { kind: 'base-backup', options: { base: resolve(base), ...(wal ? { wal: resolve(wal) } : {}) }, label: `base backup ${resolve(base)}${wal ? ` with WAL archive ${resolve(wal)}` : ''}` };
  }
  throw new UsageError("Name the backup to prove: 'faultline prove-backup --pgbackrest-conf /etc/pgbackrest/pgbackrest.conf --stanza main', or '--base-backup DIR --wal-archive DIR'. See 'faultline prove-backup --help'.");
}
