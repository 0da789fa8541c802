// 'faultline rehearse': stage a failure under load, run the user's own disaster-recovery runbook
// instead of faultline's recovery, and judge what it left against the RTO and RPO budgets.

import { writeFileSync } from 'node:fs';
import { installInterruptCleanup } from '../cluster/docker/index.ts';
import { UsageError } from '../errors.ts';
import { createProgress } from '../progress.ts';
import { randomSeed } from '../random.ts';
import { exitCodeOf, formatSummary, toJUnit } from '../report/index.ts';
import { rehearsalDefinition, rehearse, type RehearseOptions } from '../validate/index.ts';
import { checkWritable, parse, parseBudget, parseSeed, pipelineFiles, PIPELINE_HELP, PIPELINE_OPTIONS, type Command } from './options.ts';

export const usage =
  'faultline rehearse --runbook CMD [--scenario NAME] [--rto-budget DURATION] [--rpo-budget DURATION]\n' +
  '                   [--topology FILE] [--postgres-conf FILE] [--pgbackrest-conf FILE] [--seed N] [--out DIR] [--json] [--junit FILE]\n\n' +
  "Stages a failure under load on real containers, then runs YOUR runbook instead of faultline's recovery, and checks\n" +
  'what it left: a primary that accepts writes, every acknowledged write, RTO against the budget, integrity.\n' +
  '  --runbook CMD      a shell command line (run with /bin/sh -c from here, in a process group of its own). It gets the\n' +
  '                     surviving nodes, the repository and an empty node through FAULTLINE_* variables and\n' +
  '                     $FAULTLINE_CONTEXT (JSON), and must write {"primary": "<node>"} to $FAULTLINE_RESULT (docs/runbooks.md)\n' +
  `  --scenario NAME    the failure (default ${'domain-loss'}): restore, lagging-failover, stale-snapshot, domain-loss, archive-outage\n` +
  '  --rto-budget D     judge RTO against it, and stop the runbook (its whole process group) when it is spent (default: 10 min, not judged)\n' +
  '  --rpo-budget D     accept lost writes within this window (a restore from archived WAL loses its unarchived tail); default: none\n' +
  '  --topology FILE, --postgres-conf FILE, --pgbackrest-conf FILE   your system, as for validate\n' +
  '  --archive-mount PATH=KIND, --archive-script PATH=FILE, --barman-conf FILE, --barman-server FILE   as for validate\n' +
  '  --seed N, --out DIR, --json, --junit FILE   as for run\n' +
  'Exit code: 0 the runbook recovered within budget and every check held; 1 otherwise; 2 bad input; 3 environment error.';

export const command: Command = async (args) => {
  const { values } = parse(
    args,
    {
      runbook: { type: 'string' },
      scenario: { type: 'string' },
      'rto-budget': { type: 'string' },
      'rpo-budget': { type: 'string' },
      topology: { type: 'string' },
      'postgres-conf': { type: 'string' },
      'pgbackrest-conf': { type: 'string' },
      ...PIPELINE_OPTIONS,
      seed: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      junit: { type: 'string' },
    },
    'rehearse',
  );
  if (!values.runbook) throw new UsageError("Name your runbook: 'faultline rehearse --runbook ./runbooks/restore.sh'. See 'faultline rehearse --help'.");
  if (values.junit) checkWritable(values.junit);
  const options: RehearseOptions = {
    runbook: values.runbook,
    ...(values.scenario ? { scenario: values.scenario } : {}),
    ...(values.topology ? { topology: values.topology } : {}),
    ...(values['postgres-conf'] ? { postgresConf: values['postgres-conf'] } : {}),
    ...(values['pgbackrest-conf'] ? { pgbackrestConf: values['pgbackrest-conf'] } : {}),
    ...pipelineFiles(values),
    ...(values['rto-budget'] ? { rtoBudgetMs: parseBudget(values['rto-budget'], '--rto-budget')! } : {}),
    ...(values['rpo-budget'] ? { rpoBudgetMs: parseBudget(values['rpo-budget'], '--rpo-budget')! } : {}),
    seed: values.seed === undefined ? randomSeed() : parseSeed(values.seed),
    ...(values.out ? { outDir: values.out } : {}),
  };
  rehearsalDefinition(options); // bad input is refused before anything starts
  const log = createProgress();
  installInterruptCleanup();
  const result = await rehearse({ ...options, log });
  log.pause();
  if (values.junit) writeFileSync(values.junit, toJUnit([result]));
  process.stdout.write(values.json ? `${JSON.stringify([result], null, 2)}\n` : `${formatSummary(result)}\n`);
  return exitCodeOf([result.verdict]);
};
