// 'faultline validate': judge the user's own backup configuration — preflight rules on their files,
// then drills on real containers running their settings (--rules lists the rules).

import { writeFileSync } from 'node:fs';
import { installInterruptCleanup } from '../cluster/docker/index.ts';
import { UsageError } from '../errors.ts';
import { DEFAULT_POSTGRES } from '../engines/postgres/index.ts';
import { createProgress } from '../progress.ts';
import { didYouMean } from '../schema.ts';
import { DRILL_NAMES, HA_DRILL_NAMES, SENTINEL_DRILL_NAMES, describeRules, formatValidate, parsePostgresVersion, validate, validateJUnit, writeValidateFiles } from '../validate/index.ts';
import { checkWritable, parse, parseBudget, parseSeed, pipelineFiles, PIPELINE_HELP, PIPELINE_OPTIONS, type Command } from './options.ts';

export const usage =
  'faultline validate --postgres-conf FILE [--pgbackrest-conf FILE] [--topology FILE] [--postgres-version N] [--seed N]\n' +
  '                   [--patroni-conf FILE]\n' +
  '                   [--archive-mount PATH=KIND…] [--archive-script PATH=FILE…] [--barman-conf FILE] [--barman-server FILE]\n' +
  '                   [--out DIR] [--json] [--junit FILE] [--drill NAME…] [--no-drills] [--concurrency N] [--rpo-budget D]\n' +
  'faultline validate --sentinel-conf FILE [--redis-conf FILE] [--topology FILE] [--seed N] [--out DIR] [--json] [--junit FILE]\n' +
  '                   [--drill NAME…] [--no-drills] [--concurrency N] [--rpo-budget D]\n' +
  'faultline validate --rules\n\n' +
  'Judges your own backup configuration. Your files are only read.\n' +
  '  1. preflight: documented rules read postgresql.conf (with its includes) and pgbackrest.conf, no containers;\n' +
  '  2. drills: real containers run your settings through a primary crash, a power loss under the primary (what it\n' +
  '     never fsynced is gone), a power loss mid-write (a torn page), a failed fsync followed by a crash, the loss of\n' +
  '     its volume and a restore, a failover after the replica fell behind, a stale snapshot, the loss of its\n' +
  '     failure domain, an archive outage followed by the loss of the primary, and a power loss of the backup host right\n' +
  '     after WAL was archived (then a restore rehearsal). Each drill counts acknowledged,\n' +
  '     lost and indeterminate writes and verifies what survived.\n' +
  '  --topology FILE   your nodes and failure domains (JSON, see faultline schema); default: primary, replica and\n' +
  '                    archive, each in a domain of its own\n' +
  '  --postgres-version N  the PostgreSQL major the configuration is for. Without it: "version" in the topology,\n' +
  '                    the path (/etc/postgresql/17/main/), a PG_VERSION file beside it, a setting only some majors\n' +
  `                    have (summarize_wal: 17+), else ${DEFAULT_POSTGRES}. Sources that disagree are refused; every setting is\n` +
  '                    checked against that major\'s own list, and the drills run that major\n' +
  '  Your archive_command (and restore_command) run as written: scp/rsync/ssh to a host reach the archive node under\n' +
  "  that host's name, a local path is a mount of the archive node's volume; pgbackrest archive-push runs pgBackRest,\n" +
  '  barman-wal-archive (or --barman-conf) Barman. A command that cannot run here is refused, saying why.\n' +
  PIPELINE_HELP +
  '  --patroni-conf FILE  your patroni.yml: the drills run under Patroni (etcd beside each server, clients through\n' +
  "                    HAProxy) with its ttl, loop_wait, retry_timeout, maximum_lag_on_failover, synchronous_mode,\n" +
  "                    failsafe_mode and use_pg_rewind, and Patroni fails over, not faultline. Its postgresql.parameters\n" +
  '                    win over --postgres-conf (which it makes optional), as in production, each override named.\n' +
  '                    Preflight adds Patroni\'s rules (ttl against loop_wait + 2 x retry_timeout, asynchronous\n' +
  `                    failover, no watchdog). Its drills: ${HA_DRILL_NAMES.join(', ')}\n` +
  '  --sentinel-conf FILE  your sentinel.conf: the drills run a Redis primary and two replicas with a Sentinel beside\n' +
  "                    each, clients asking the Sentinels for the primary, with its quorum, down-after-milliseconds and\n" +
  '                    failover-timeout (the monitored address is not used), and Sentinel fails over, not faultline.\n' +
  "  --redis-conf FILE    with --sentinel-conf: your servers' redis.conf (appendonly, appendfsync, save,\n" +
  '                    min-replicas-to-write, min-replicas-max-lag and other durability and replication directives; ports,\n' +
  "                    paths and passwords are not used). Preflight: an isolated primary that keeps taking writes, a primary\n" +
  `                    with no persistence. Its drills: ${SENTINEL_DRILL_NAMES.join(', ')}\n` +
  `  --drill NAME      run only this drill (repeatable): ${DRILL_NAMES.join(', ')}\n` +
  '  --no-drills       preflight only (a second or two)\n' +
  '  --rpo-budget D    the data loss you accept (e.g. 60s): lost writes pass when what they take is within it. A\n' +
  '                    restore from an archive fed by archive_command loses the segment not yet archived (up to\n' +
  '                    archive_timeout); without it, no acknowledged write may be lost\n' +
  '  --concurrency N   drills at once (default 2 on a machine with 2 or more cores)\n' +
  '  --seed N          replay the drills of an earlier run\n' +
  '  --out DIR         where validate.json, junit.xml, report.html and the drills\' runs go\n' +
  '                    (default faultline-out/validate/<time>)\n' +
  '  --json            print validate.json instead of the table\n' +
  '  --junit FILE      also write the JUnit report there (a case per finding and per drill)\n' +
  '  --rules           list the preflight rules and exit\n' +
  'Exit code: 0 no error finding and every drill held; 1 an error finding, a lost acknowledged write, a failed\n' +
  'restore or another failed check; 2 bad input (a file that cannot be read or parsed, a setting that cannot run);\n' +
  '3 environment error.';

export const command: Command = async (args) => {
  const { values } = parse(
    args,
    {
      'postgres-conf': { type: 'string' },
      'pgbackrest-conf': { type: 'string' },
      'patroni-conf': { type: 'string' },
      'sentinel-conf': { type: 'string' },
      'redis-conf': { type: 'string' },
      ...PIPELINE_OPTIONS,
      topology: { type: 'string' },
      'postgres-version': { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      junit: { type: 'string' },
      drill: { type: 'string', multiple: true },
      'no-drills': { type: 'boolean' },
      concurrency: { type: 'string' },
      'rpo-budget': { type: 'string' },
      rules: { type: 'boolean' },
    },
    'validate',
  );
  if (values.rules) {
    for (const rule of describeRules()) {
      process.stdout.write(`${rule.id}  (${rule.severity})  ${rule.title}\n    why: ${rule.reason}\n    fix: ${rule.fix}\n    see: ${rule.docs}\n`);
    }
    return 0;
  }
  const sentinel = values['sentinel-conf'] !== undefined;
  if (sentinel) {
    const postgresOnly = ['postgres-conf', 'patroni-conf', 'pgbackrest-conf', 'postgres-version', ...Object.keys(PIPELINE_OPTIONS)].filter((name) => values[name as keyof typeof values] !== undefined);
    if (postgresOnly.length > 0) throw new UsageError(`--sentinel-conf drills a Redis cluster under Sentinel; ${postgresOnly.map((o) => `--${o}`).join(', ')} ${postgresOnly.length === 1 ? 'is' : 'are'} for PostgreSQL: run them in a validate of their own`);
  } else if (values['redis-conf']) {
    throw new UsageError("--redis-conf goes with --sentinel-conf: 'faultline validate --sentinel-conf /etc/redis/sentinel.conf --redis-conf /etc/redis/redis.conf'");
  }
  if (!sentinel && !values['postgres-conf'] && !values['patroni-conf']) {
    throw new UsageError("Name your PostgreSQL configuration: 'faultline validate --postgres-conf /etc/postgresql/16/main/postgresql.conf' (or your Patroni one: --patroni-conf /etc/patroni/patroni.yml; or your Sentinel one: --sentinel-conf /etc/redis/sentinel.conf). See 'faultline validate --help'.");
  }
  const drillNames = sentinel ? SENTINEL_DRILL_NAMES : values['patroni-conf'] ? HA_DRILL_NAMES : DRILL_NAMES;
  for (const name of values.drill ?? []) {
    if (!drillNames.includes(name)) {
      const guess = didYouMean(name, drillNames);
      throw new UsageError(`--drill '${name}' is not a drill${sentinel ? ' beside Sentinel' : values['patroni-conf'] ? ' beside Patroni' : ''}${guess ? ` (did you mean '${guess}'?)` : ''}: use ${drillNames.join(', ')}`);
    }
  }
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 6)) {
    throw new UsageError(`--concurrency must be a whole number from 1 to 6, got '${values.concurrency}'`);
  }
  if (values.junit) checkWritable(values.junit);
  const seed = values.seed === undefined ? undefined : parseSeed(values.seed);
  const postgresVersion = values['postgres-version'] === undefined ? undefined : parsePostgresVersion(values['postgres-version']);
  const log = createProgress();
  if (!values['no-drills']) installInterruptCleanup();
  const result = await validate({
    ...(values['postgres-conf'] ? { postgresConf: values['postgres-conf'] } : {}),
    ...(values['patroni-conf'] ? { patroniConf: values['patroni-conf'] } : {}),
    ...(values['sentinel-conf'] ? { sentinelConf: values['sentinel-conf'] } : {}),
    ...(values['redis-conf'] ? { redisConf: values['redis-conf'] } : {}),
    ...(values['pgbackrest-conf'] ? { pgbackrestConf: values['pgbackrest-conf'] } : {}),
    ...pipelineFiles(values),
    ...(values.topology ? { topology: values.topology } : {}),
    ...(postgresVersion !== undefined ? { postgresVersion } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(values.out ? { outDir: values.out } : {}),
    ...(values.drill ? { drills: values.drill } : {}),
    noDrills: values['no-drills'] === true,
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(values['rpo-budget'] ? { rpoBudgetMs: parseBudget(values['rpo-budget'], '--rpo-budget')! } : {}),
    log,
  });
  log.pause();
  writeValidateFiles(result);
  if (values.junit) writeFileSync(values.junit, validateJUnit(result));
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatValidate(result)}\n`);
  return result.exitCode;
};
