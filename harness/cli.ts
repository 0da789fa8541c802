#!/usr/bin/env node
// The faultline command line. Exit codes (docs/architecture.md): 0 every check held; 1 a check failed;
// 2 usage or configuration error; 3 environment error (no Docker engine, image build failed) or a
// run that broke (faultline's own failure: nothing shown either way).

import { accessSync, constants, existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FaultlineError, UsageError, describeError } from './errors.ts';
import { createProgress } from './progress.ts';
import { defaultTopology, topologyJsonSchema, validateTopology } from './cluster/topology.ts';
import { diagnose, ensureNodeImage, getEngine, installInterruptCleanup, interruptInProgress } from './cluster/docker/index.ts';
import { engineFor, engines } from './engines/registry.ts';
import { recheckRun, runExperiment, type ExperimentDefinition, type ExperimentResult } from './experiment/index.ts';
import { isDrillFile, loadDrillFile } from './experiment/drill-file.ts';
import { exitCodeOf, formatComparison, formatSummary, toJUnit } from './report/index.ts';
import { campaignExitCode, campaignPairs, defaultParallel, summarize, formatCampaign, loadCampaignFolders, parseSeeds, parseShard, runCampaign, shardPairs, writeCampaignFiles, type PlannedRun } from './campaign/index.ts';
import { experiments } from '../experiments/index.ts';
import { faults } from './faults/index.ts';
import { randomSeed } from './random.ts';
import { didYouMean } from './schema.ts';
import { PACKAGE_VERSION } from './package-root.ts';
import { readTopologyFile } from './validate/user-config.ts';
import { DRILL_NAMES, describeRules, formatValidate, rehearsalDefinition, rehearse, validate, validateJUnit, writeValidateFiles, type RehearseOptions } from './validate/index.ts';
import { parseDuration } from './units.ts';

const HELP = `faultline — rehearse storage failures on real PostgreSQL clusters

Usage:
  faultline list                            the shipped experiments
  faultline run <name|glob|file…> [--seed N | --seeds 1..50] [--parallel N] [--shard i/n] [--out DIR] [--json] [--junit FILE] [--as-documented]
                                            run experiments (shipped ones, or your drill files), several clusters at once; files in DIR/<name>/<time>/ (default faultline-out)
  faultline validate --postgres-conf FILE [--pgbackrest-conf FILE] [--topology FILE] [--seed N] [--out DIR] [--json] [--junit FILE]
                                            judge your own backup configuration: preflight rules, then drills on your settings
  faultline validate --rules                the preflight rules: what each finds, why it matters, the fix
  faultline rehearse --runbook CMD [--scenario NAME] [--rto-budget D] [--rpo-budget D] [--topology FILE] [--postgres-conf FILE] [--pgbackrest-conf FILE]
                                            rehearse your own disaster-recovery runbook on a real failure
  faultline report DIR [--json] [--write]   check a run again from its files (also a crashed one)
  faultline report --merge DIR… [--out DIR] one summary, junit.xml and report.html for campaigns run apart (CI shards)
  faultline faults                          the fault catalog: what each fault does and takes
  faultline schema                          the JSON Schema of topology files (for editors)
  faultline up [--topology FILE] [--json]   start a cluster and hold it until Ctrl-C
  faultline image [--postgres N]            build (or reuse) the node image
  faultline doctor [--cleanup] [--all]      find (and remove) what crashed runs left behind
  faultline help [command]                  this text, or one command's (also: faultline <command> --help)
  faultline --version                       faultline's version

Exit codes: 0 ok, 1 a check failed, 2 usage or configuration error, 3 environment error or a
run that broke (faultline's own failure, verdict BROKEN; a failed run elsewhere still gives 1).`;

type Command = (args: string[]) => Promise<number>;

/** `faultline <command> --help`: what each command does and takes. */
const USAGE: Record<string, string> = {
  list: 'faultline list [--json]\n\nThe shipped experiments, one line each, grouped by engine (PostgreSQL, Redis). --json prints name, engine and description of each.',
  run:
    'faultline run <name|glob…> [--seed N | --seeds LIST] [--parallel N] [--shard i/n] [--out DIR] [--json] [--junit FILE] [--as-documented]\n\n' +
    "Runs experiments by name, glob ('pitr-*') or family ('sidekick' runs sidekick-*), or your own drill file\n" +
    "(./drills/my-drill.ts, .js, .mjs: its default export is a defineExperiment(…); .json: the same shape), with one seed for all,\n" +
    'several at once (each cluster isolated: its own network, volumes, names and ports).\n' +
    '  --seed N    replay a run exactly (a whole number, 0 or more; drawn when not given, and shown)\n' +
    '  --seeds LIST  a campaign: every experiment with every seed, e.g. 1..50, 1,2,7 or 1..10,20. Prints the pass\n' +
    '              rate per experiment and a replay command for each pair that did not pass, and writes\n' +
    '              DIR/campaign.json, DIR/junit.xml and DIR/report.html\n' +
    '  --parallel N  clusters at once (default: one per core, as far as free memory allows; said at the start)\n' +
    '  --shard i/n   run only shard i of n of the pairs (for a CI matrix: each runner its own i, the same n and\n' +
    "              command); the split depends only on the pairs. Merge the shards' --out folders with\n" +
    "              'faultline report --merge'\n" +
    '  --out DIR   where run folders go: DIR/<experiment>/<time>/ and a latest link (default faultline-out)\n' +
    '  --json      print the results as JSON (an array of result.json objects) instead of the summaries\n' +
    '  --junit FILE  one JUnit file for the whole invocation: a testsuite per experiment, a test case per check\n' +
    '  --as-documented  judge each experiment by what it documents: a safe setup must pass, a drill that\n' +
    '              shows a danger must fail the checks it names (its `shows`); for running the whole catalog in CI\n' +
    'Exit code: 0 every check held (with --as-documented: every experiment behaved as documented), 1 otherwise,\n' +
    '2 usage or configuration error, 3 environment error.',
  report:
    'faultline report DIR [--json] [--write]\nfaultline report --merge DIR… [--out DIR] [--json]\n\nChecks a run again from its files (a run folder, or an experiment folder for its latest run), also one that crashed, and prints the result.\n' +
    "  --json   print the result as JSON, as 'run --json' does (an array of result.json objects)\n  --write  also rewrite the run's result.json, junit.xml and report.html (by default its files are left as they are)\n" +
    "  --merge  merge campaigns run apart (the --out folders of 'faultline run --seeds … --shard i/n', or folders of plain\n" +
    '           runs) into one campaign.json, junit.xml and report.html (in --out DIR, default faultline-report): the pass\n' +
    '           rate per experiment and each pair that did not pass with its replay command. Exit 1 when one did not pass.',
  validate:
    'faultline validate --postgres-conf FILE [--pgbackrest-conf FILE] [--topology FILE] [--seed N] [--out DIR] [--json] [--junit FILE]\n' +
    '                   [--drill NAME…] [--no-drills] [--concurrency N]\n' +
    'faultline validate --rules\n\n' +
    'Judges your own backup configuration. Your files are only read.\n' +
    '  1. preflight: documented rules read postgresql.conf (with its includes) and pgbackrest.conf, no containers;\n' +
    '  2. drills: real containers run your settings through a primary crash, a power loss under the primary (what it\n' +
    '     never fsynced is gone), a power loss mid-write (a torn page), a failed fsync followed by a crash, the loss of\n' +
    '     its volume and a restore, a failover after the replica fell behind, a stale snapshot, the loss of its\n' +
    '     failure domain, and an archive outage followed by the loss of the primary. Each drill counts acknowledged,\n' +
    '     lost and indeterminate writes and verifies what survived.\n' +
    '  --topology FILE   your nodes and failure domains (JSON, see faultline schema); default: primary, replica and\n' +
    '                    archive, each in a domain of its own\n' +
    `  --drill NAME      run only this drill (repeatable): ${DRILL_NAMES.join(', ')}\n` +
    '  --no-drills       preflight only (a second or two)\n' +
    '  --concurrency N   drills at once (default 2 on a machine with 2 or more cores)\n' +
    '  --seed N          replay the drills of an earlier run\n' +
    '  --out DIR         where validate.json, junit.xml, report.html and the drills\' runs go\n' +
    '                    (default faultline-out/validate/<time>)\n' +
    '  --json            print validate.json instead of the table\n' +
    '  --junit FILE      also write the JUnit report there (a case per finding and per drill)\n' +
    '  --rules           list the preflight rules and exit\n' +
    'Exit code: 0 no error finding and every drill held; 1 an error finding, a lost acknowledged write, a failed\n' +
    'restore or another failed check; 2 bad input (a file that cannot be read or parsed, a setting that cannot run);\n' +
    '3 environment error.',
  rehearse:
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
    '  --seed N, --out DIR, --json, --junit FILE   as for run\n' +
    'Exit code: 0 the runbook recovered within budget and every check held; 1 otherwise; 2 bad input; 3 environment error.',
  faults: 'faultline faults\n\nThe fault catalog: what each fault does, what it mirrors, its targets and parameters.',
  schema: 'faultline schema\n\nPrints the JSON Schema of topology files, for editors to complete and check them.',
  up: 'faultline up [--topology FILE] [--json]\n\nStarts a cluster from a topology (JSON; default: primary, replica and archive in three domains) and holds it until Ctrl-C, which removes everything.',
  image: 'faultline image [--postgres N]\n\nBuilds (or reuses) the node image for PostgreSQL major N (default 15).',
  doctor: "faultline doctor [--cleanup] [--all]\n\nLists what crashed runs left behind (containers, networks, volumes, loop devices).\n  --cleanup  remove it (runs whose faultline process still runs are kept)\n  --all      with --cleanup: remove those too",
  help: 'faultline help [command]\n\nThe commands, or one command in detail.',
};

/** Rewrites what node:util's parseArgs says into the house style: what was wrong, and what to do. */
function usageError(error: unknown, command: string, known: string[]): UsageError {
  const e = error as { code?: string; message?: string };
  const options = known.length ? `'${command}' takes ${known.map((o) => `--${o}`).join(', ')}` : `'${command}' takes no options`;
  const option = /'(-[^']*)'/.exec(e.message ?? '')?.[1] ?? '';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const guess = didYouMean(option.replace(/^-+/, '').split('=')[0]!, known);
    return new UsageError(`Unknown option '${option}'${guess ? ` (did you mean '--${guess}'?)` : ''}: ${options}. See 'faultline ${command} --help'.`);
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return new UsageError(`Option '${option.split(' ')[0]}' needs a value, e.g. '--seed 7'. See 'faultline ${command} --help'.`);
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(`'${command}' takes no arguments besides its options: ${options}. See 'faultline ${command} --help'.`);
  return new UsageError(`${describeError(error)}. See 'faultline ${command} --help'.`);
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, command: string, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw usageError(error, command, Object.keys(options));
  }
}

/** A seed as typed: digits only ('', '0x10' and '1e3' are refused), a safe whole number. */
export function parseSeed(text: string): number {
  const seed = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(seed)) throw new UsageError(`--seed must be a whole number written in digits, 0 or more (e.g. --seed 7): got '${text}'`);
  return seed;
}

/** Checks, before any run, that the JUnit file can be written; its missing folders are made one by one. */
function checkWritable(file: string): void {
  try {
    const dir = dirname(resolve(file));
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
    // One level at a time: a recursive mkdir can spin on file systems that refuse it (/proc).
    for (const d of missing) mkdirSync(d);
    accessSync(dir, constants.W_OK);
    if (existsSync(file)) accessSync(file, constants.W_OK);
  } catch (error) {
    throw new UsageError(`Cannot write the JUnit file '${file}': ${describeError(error)}. Pass a path in a folder you can write to.`);
  }
}

function loadTopology(file: string | undefined): unknown {
  return file ? readTopologyFile(file) : defaultTopology;
}

const up: Command = async (args) => {
  const { values } = parse(args, { topology: { type: 'string' }, json: { type: 'boolean' } }, 'up');
  const topology = validateTopology(loadTopology(values.topology), values.topology ?? 'default topology');
  const log = createProgress();
  installInterruptCleanup();
  const cluster = await engineFor(topology).start(topology, { log });
  log.pause();
  const nodes = cluster.nodes.map((node) => ({ name: node.name, role: node.spec.role, domain: node.spec.domain, url: node.url() }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ runId: cluster.runId, readyMs: cluster.readyMs, nodes })}\n`);
  } else {
    for (const n of nodes) {
      process.stdout.write(`${n.name.padEnd(14)} ${n.role.padEnd(8)} ${n.domain.padEnd(14)} ${n.url || '(no server: backups only)'}\n`);
    }
    process.stdout.write(`Cluster ${cluster.runId} is ready. Press Ctrl-C to stop it and remove its containers and volumes.\n`);
  }
  // Held until SIGINT/SIGTERM: the interrupt handler cleans up and exits. The timer keeps Node's
  // event loop alive (a bare pending promise would let the process end and leak the cluster).
  setInterval(() => {}, 1 << 30);
  await new Promise(() => {});
  return 0;
};

const image: Command = async (args) => {
  const { values } = parse(args, { postgres: { type: 'string', default: '15' } }, 'image');
  const version = Number(values.postgres);
  validateTopology({ domains: ['x1'], postgres: { version, nodes: [{ name: 'pg', role: 'primary', domain: 'x1' }] } }, '--postgres');
  const log = createProgress();
  const tag = await ensureNodeImage({ postgresVersion: version, log });
  log.pause();
  process.stdout.write(`${tag}\n`);
  return 0;
};

const doctor: Command = async (args) => {
  const { values } = parse(args, { cleanup: { type: 'boolean' }, all: { type: 'boolean' } }, 'doctor');
  const result = await diagnose(await getEngine(), { cleanup: values.cleanup, all: values.all });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (result.runs.length === 0 && result.loopDevices.length === 0) out('Nothing left behind: no faultline containers, networks, volumes or loop devices.');
  for (const run of result.runs) {
    out(`run ${run.runId} (${run.ownerAlive ? 'its faultline process is running' : 'left behind'}):`);
    for (const c of run.containers) out(`  container ${c}`);
    for (const n of run.networks) out(`  network   ${n}`);
    for (const v of run.volumes) out(`  volume    ${v}`);
  }
  for (const loop of result.loopDevices) out(`loop device ${loop.device} -> ${loop.backingFile}`);
  for (const action of result.actions) out(action);
  if (!values.cleanup && (result.runs.length > 0 || result.loopDevices.length > 0)) out("Run 'faultline doctor --cleanup' to remove what is left behind.");
  return 0;
};

const list: Command = async (args) => {
  const { values } = parse(args, { json: { type: 'boolean' } }, 'list');
  const rows = experiments.map((e) => ({ name: e.name, engine: validateTopology(e.topology).engine, description: e.description }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(...rows.map((e) => e.name.length));
  for (const engine of engines) {
    const mine = rows.filter((r) => r.engine === engine.name);
    if (mine.length === 0) continue;
    process.stdout.write(`${engine.label}\n`);
    for (const e of mine) process.stdout.write(`  ${e.name.padEnd(width)}  ${e.description}\n`);
  }
  return 0;
};

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/**
 * The experiments named on the command line, in order, each once: a name or a glob; a name that is
 * no experiment's stands for its family ('sidekick' runs sidekick-naive and sidekick-hardened).
 */
export function selectExperiments(patterns: string[], known: ExperimentDefinition[]): ExperimentDefinition[] {
  const selected = patterns.flatMap((pattern) => {
    const exact = known.filter((e) => globToRegExp(pattern).test(e.name));
    const matches = exact.length > 0 ? exact : known.filter((e) => e.name.startsWith(`${pattern}-`));
    if (matches.length === 0) {
      const guess = didYouMean(pattern, known.map((e) => e.name));
      throw new UsageError(`No experiment matches '${pattern}'${guess ? ` (did you mean '${guess}'?)` : ''}. Known: ${known.map((e) => e.name).join(', ')} ('faultline list' describes them).`);
    }
    return matches;
  });
  return [...new Set(selected)];
}

const run: Command = async (args) => {
  const { values, positionals } = parse(
    args,
    {
      seed: { type: 'string' },
      seeds: { type: 'string' },
      parallel: { type: 'string' },
      shard: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      junit: { type: 'string' },
      'as-documented': { type: 'boolean' },
    },
    'run',
    true,
  );
  const documented = values['as-documented'] === true;
  if (values.junit) checkWritable(values.junit);
  if (positionals.length === 0) throw new UsageError(`Name the experiments to run, e.g. 'faultline run healthy'. 'faultline list' shows them.`);
  if (values.seed !== undefined && values.seeds !== undefined) throw new UsageError("Give either --seed N (one seed) or --seeds LIST (a campaign, e.g. --seeds 1..50), not both");
  // A path (./drills/my-drill.ts, .json) is the user's own drill; anything else names shipped ones.
  const selected: Array<{ definition: ExperimentDefinition; source: string }> = [];
  for (const argument of positionals) {
    const file = isDrillFile(argument);
    for (const definition of file ? [await loadDrillFile(argument)] : selectExperiments([argument], experiments)) {
      if (selected.some((s) => s.definition === definition || (file && s.source === argument))) continue;
      if (selected.some((s) => s.definition.name === definition.name)) throw new UsageError(`Two experiments named '${definition.name}' (${argument} and another): names must differ, since each names its run folder and replay`);
      selected.push({ definition, source: file ? argument : definition.name });
    }
  }
  // One seed for the whole invocation, drawn when none is given: the seed the summary shows
  // replays every experiment of this command at once. --seeds makes a campaign: every pair.
  const campaign = values.seeds !== undefined || values.shard !== undefined;
  const seeds = values.seeds !== undefined ? parseSeeds(values.seeds) : [values.seed === undefined ? randomSeed() : parseSeed(values.seed)];
  let pairs = campaignPairs(selected.map((s) => s.definition.name), seeds);
  const shard = values.shard === undefined ? undefined : parseShard(values.shard);
  if (shard) pairs = shardPairs(pairs, shard.index, shard.count);
  const parallel = parseParallel(values.parallel);
  const outDir = values.out ?? 'faultline-out';
  const plan: PlannedRun[] = pairs.map((pair) => {
    const { definition, source } = selected.find((s) => s.definition.name === pair.experiment)!;
    return { definition, source, seed: pair.seed };
  });
  const log = createProgress();
  const at = Math.min(parallel.parallel, Math.max(1, plan.length));
  log(`faultline: ${plan.length} run(s)${shard ? ` (shard ${shard.index}/${shard.count} of ${campaignPairs(selected.map((s) => s.definition.name), seeds).length})` : ''}, ${at} at a time (${parallel.why})`);
  installInterruptCleanup();
  const outcomes = await runCampaign(plan, {
    parallel: parallel.parallel,
    outDir,
    log,
    documented,
    onResult: (result) => {
      if (campaign || values.json) return;
      log.pause(); // the summary goes to stdout; the status line must not run into it
      process.stdout.write(`${formatSummary(result, { documented })}\n\n`);
    },
  });
  log.pause();
  const results = outcomes.map((o) => o.result);
  if (values.junit) writeFileSync(values.junit, toJUnit(results));
  // 1 when a run failed; 3 when the only runs that did not pass broke (faultline's own failure).
  let code = campaignExitCode(summarize(outcomes.map((o) => o.entry)));
  if (campaign) {
    const summary = writeCampaignFiles(resolve(outDir), outcomes.map((o) => ({ entry: o.entry, result: o.result, dir: o.result.dir })), documented ? 'documented' : 'verdict', shard ? `faultline campaign, shard ${shard.index}/${shard.count}` : 'faultline campaign');
    code = campaignExitCode(summary);
    if (!values.json) process.stdout.write(`${formatCampaign(summary)}\nfiles: ${resolve(outDir)}/campaign.json, junit.xml, report.html\n`);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else if (!campaign && results.length > 1) process.stdout.write(`${formatComparison(results, { documented })}\n`);
  // --as-documented: a demonstration that fails as documented is what CI wants to see.
  return code;
};

/** --parallel N (1 to 16), or what the machine holds. */
function parseParallel(text: string | undefined): { parallel: number; why: string } {
  if (text === undefined) return defaultParallel();
  const parallel = Number(text);
  if (!/^\d+$/.test(text) || parallel < 1 || parallel > 16) throw new UsageError(`--parallel must be a whole number of clusters at once, 1 to 16: got '${text}'`);
  return { parallel, why: 'as asked' };
}

const report: Command = async (args) => {
  const parsed = parse(args, { json: { type: 'boolean' }, write: { type: 'boolean' }, merge: { type: 'boolean' }, out: { type: 'string' } }, 'report', true);
  if (parsed.values.merge) return mergeReport(parsed.positionals, parsed.values.out ?? 'faultline-report', parsed.values.json === true);
  if (parsed.values.out !== undefined) throw new UsageError("--out goes with --merge: 'faultline report --merge shard-1 shard-2 --out merged'");
  const [dir] = parsed.positionals;
  if (!dir || parsed.positionals.length > 1) throw new UsageError('Usage: faultline report DIR (the folder of a run, or of an experiment for its latest run)');
  const { result, skippedLines, complete } = recheckRun(dir, { write: parsed.values.write === true });
  if (!complete) process.stderr.write(`faultline: the run in ${result.dir} did not finish; checking the history it left\n`);
  if (skippedLines > 0) process.stderr.write(`faultline: ${skippedLines} unreadable line(s) in history.jsonl were skipped (a write cut short by the crash)\n`);
  // The same shape as `run --json`: an array of results.
  process.stdout.write(parsed.values.json ? `${JSON.stringify([result], null, 2)}\n` : `${formatSummary(result)}\n`);
  return exitCodeOf([result.verdict]);
};

/** `report --merge DIR…`: one summary, junit.xml and report.html for the campaigns (shards) in the folders. */
function mergeReport(dirs: string[], out: string, json: boolean): number {
  const { runs, judgedBy, sources } = loadCampaignFolders(dirs);
  const summary = writeCampaignFiles(resolve(out), runs, judgedBy, `faultline campaign, merged from ${sources.length} folder(s)`);
  const missing = runs.filter((r) => !r.result).length;
  if (missing > 0) process.stderr.write(`faultline: ${missing} run folder(s) named in the campaigns are gone; their pairs count in the summary but are not in junit.xml\n`);
  process.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatCampaign(summary)}\nmerged ${sources.length} campaign folder(s) into ${resolve(out)}: campaign.json, junit.xml, report.html\n`);
  return campaignExitCode(summary);
}

const validateCommand: Command = async (args) => {
  const { values } = parse(
    args,
    {
      'postgres-conf': { type: 'string' },
      'pgbackrest-conf': { type: 'string' },
      topology: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      junit: { type: 'string' },
      drill: { type: 'string', multiple: true },
      'no-drills': { type: 'boolean' },
      concurrency: { type: 'string' },
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
  if (!values['postgres-conf']) throw new UsageError("Name your PostgreSQL configuration: 'faultline validate --postgres-conf /etc/postgresql/16/main/postgresql.conf'. See 'faultline validate --help'.");
  for (const name of values.drill ?? []) {
    if (!DRILL_NAMES.includes(name)) {
      const guess = didYouMean(name, DRILL_NAMES);
      throw new UsageError(`--drill '${name}' is not a drill${guess ? ` (did you mean '${guess}'?)` : ''}: use ${DRILL_NAMES.join(', ')}`);
    }
  }
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 6)) {
    throw new UsageError(`--concurrency must be a whole number from 1 to 6, got '${values.concurrency}'`);
  }
  if (values.junit) checkWritable(values.junit);
  const seed = values.seed === undefined ? undefined : parseSeed(values.seed);
  const log = createProgress();
  if (!values['no-drills']) installInterruptCleanup();
  const result = await validate({
    postgresConf: values['postgres-conf'],
    ...(values['pgbackrest-conf'] ? { pgbackrestConf: values['pgbackrest-conf'] } : {}),
    ...(values.topology ? { topology: values.topology } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(values.out ? { outDir: values.out } : {}),
    ...(values.drill ? { drills: values.drill } : {}),
    noDrills: values['no-drills'] === true,
    ...(concurrency !== undefined ? { concurrency } : {}),
    log,
  });
  log.pause();
  writeValidateFiles(result);
  if (values.junit) writeFileSync(values.junit, validateJUnit(result));
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatValidate(result)}\n`);
  return result.exitCode;
};

function parseBudget(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`${option} must be a duration like '90s' or '5m', got '${text}'`);
  return ms;
}

const rehearseCommand: Command = async (args) => {
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

const schema: Command = async (args) => {
  parse(args, {}, 'schema');
  process.stdout.write(`${JSON.stringify(topologyJsonSchema(), null, 2)}\n`);
  return 0;
};

const faultsCommand: Command = async (args) => {
  parse(args, {}, 'faults');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  for (const f of faults) {
    out(`${f.name}  (targets: ${f.targets.join(', ')}${f.roles ? ` (${f.roles.join(' or ')})` : ''}${f.healable ? '; healed after its duration' : '; permanent'}${f.disruptive ? '; disruptive' : ''})`);
    out(`    ${f.description}`);
    out(`    mirrors: ${f.mirrors}`);
    for (const [name, p] of Object.entries(f.params)) {
      out(`    --${name}: ${p.description}${p.choices ? ` (${p.choices.join('|')})` : ''}${p.default !== undefined ? `, default ${p.default}` : ''}`);
    }
  }
  return 0;
};

const commands: Record<string, Command> = {
  faults: faultsCommand,
  schema,
  list,
  run,
  validate: validateCommand,
  rehearse: rehearseCommand,
  report,
  up,
  image,
  doctor,
  help: async ([topic]) => {
    process.stdout.write(`${topic && USAGE[topic] ? USAGE[topic] : HELP}\n`);
    return 0;
  },
};

export async function main(argv: string[]): Promise<number> {
  // A reader that went away (`faultline faults | head`) is not an error worth a crash; and a run
  // must never die on it before it cleaned up.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') return commands.help!([]);
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${PACKAGE_VERSION}\n`);
    return 0;
  }
  const command = commands[name];
  try {
    if (!command) {
      const guess = didYouMean(name, Object.keys(commands));
      throw new UsageError(`Unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}. Commands: ${Object.keys(commands).join(', ')} ('faultline help' describes them).`);
    }
    if (rest.includes('--help') || rest.includes('-h')) return await commands.help!([name]);
    return await command(rest);
  } catch (error) {
    if (error instanceof FaultlineError) {
      process.stderr.write(`faultline: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`faultline: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 3;
  }
}

// Run when executed (also through npm's bin link), not when imported by tests.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const code = await main(process.argv.slice(2));
  // A signal's clean-up is still removing the runs (a run that ended by its interrupt returns
  // here first): its handler exits when it is done, with the signal's code. Never exit before.
  if (interruptInProgress()) {
    setInterval(() => {}, 1 << 30);
    await new Promise(() => {});
  }
  // Every result is written and every cluster removed by now. A handle a driver left open (a
  // connection still being attempted when the workload stopped) must not keep the command from
  // exiting: it once held 'faultline run sidekick' open after both runs had ended. Output to a
  // pipe is written asynchronously: exit only once stdout and stderr have taken everything, or a
  // large --json result is cut short.
  process.exitCode = code;
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  process.exit(code);
}
