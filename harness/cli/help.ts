// 'faultline help', 'faultline --help': the overview of every command, or one command's own usage
// (each command's usage text lives beside the command, in its own file).

import type { Command } from './options.ts';

/** The overview: every command on a line or two, and the exit codes. */
export const HELP = `faultline — rehearse storage failures on real PostgreSQL, Redis and Valkey clusters

Usage:
  faultline list                            the shipped experiments
  faultline run <name|glob|file…> [--seed N | --seeds 1..50] [--parallel N] [--shard i/n] [--out DIR] [--json] [--junit FILE] [--as-documented]
                                            run experiments (shipped ones, or your drill files), several clusters at once; files in DIR/<name>/<time>/ (default faultline-out)
  faultline validate --postgres-conf FILE [--pgbackrest-conf FILE] [--topology FILE] [--seed N] [--out DIR] [--json] [--junit FILE]
                                            judge your own backup configuration: preflight rules, then drills on your settings
  faultline validate --patroni-conf FILE | --sentinel-conf FILE [--redis-conf FILE]
                                            the same under your HA manager's settings: Patroni (PostgreSQL) or Sentinel (Redis, Valkey)
  faultline validate --rules                the preflight rules: what each finds, why it matters, the fix
  faultline rehearse --runbook CMD [--scenario NAME] [--rto-budget D] [--rpo-budget D] [--topology FILE] [--postgres-conf FILE] [--pgbackrest-conf FILE]
                                            rehearse your own disaster-recovery runbook on a real failure
  faultline prove-backup --pgbackrest-conf FILE --stanza NAME | --barman-conf FILE --server NAME | --base-backup DIR [--wal-archive DIR] | --redis-dir DIR [--max-age D] [--check FILE] [--rto-budget D]
                                            restore your real backup into a scratch node and prove it (read-only on your backup)
  faultline report DIR [--json] [--write]   check a run again from its files (also a crashed one)
  faultline report --merge DIR… [--out DIR] one summary, junit.xml and report.html for campaigns run apart (CI shards)
  faultline faults                          the fault catalog: what each fault does and takes
  faultline schema                          the JSON Schema of topology files (for editors)
  faultline up [--topology FILE] [--json]   start a cluster and hold it until Ctrl-C
  faultline image [--postgres N] [--redis N] [--valkey N] [--all]
                                            build (or reuse) the node images for those versions
  faultline doctor [--cleanup] [--all]      find (and remove) what crashed runs left behind
  faultline help [command]                  this text, or one command's (also: faultline <command> --help)
  faultline --version                       faultline's version

Exit codes: 0 ok, 1 a check failed, 2 usage or configuration error, 3 environment error or a
run that broke (faultline's own failure, verdict BROKEN; a failed run elsewhere still gives 1).`;

export const usage = 'faultline help [command]\n\nThe commands, or one command in detail.';

/** The help command, given every command's usage (`faultline <command> --help` shows the same text). */
export function helpCommand(usages: Record<string, string>): Command {
  return async ([topic]) => {
    process.stdout.write(`${topic && usages[topic] ? usages[topic] : HELP}\n`);
    return 0;
  };
}
