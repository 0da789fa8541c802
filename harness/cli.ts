#!/usr/bin/env node
// The faultline command line. Exit codes (DESIGN.md): 0 every check held; 1 a check failed;
// 2 usage or configuration error; 3 environment error (no Docker engine, image build failed).

import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, FaultlineError, UsageError, describeError } from './errors.ts';
import { createProgress } from './progress.ts';
import { defaultTopology, validateTopology } from './cluster/topology.ts';
import { diagnose, ensureNodeImage, getEngine, installInterruptCleanup } from './cluster/docker/index.ts';
import { startPostgresCluster } from './cluster/postgres/index.ts';
import { recheckRun, runExperiment, type ExperimentDefinition, type ExperimentResult } from './experiment/index.ts';
import { formatComparison, formatSummary } from './report/index.ts';
import { experiments } from '../experiments/index.ts';
import { faults } from './faults/index.ts';
import { randomSeed } from './random.ts';

const HELP = `faultline — rehearse storage failures on real PostgreSQL clusters

Usage:
  faultline list                            the shipped experiments
  faultline run <name|glob…> [--seed N] [--out DIR] [--json]
                                            run experiments; files in DIR/<name>/<time>/ (default faultline-out)
  faultline report DIR                      check a run again from its files (also a crashed one)
  faultline faults                          the fault catalog: what each fault does and takes
  faultline up [--topology FILE] [--json]   start a cluster and hold it until Ctrl-C
  faultline image [--postgres N]            build (or reuse) the node image
  faultline doctor [--cleanup] [--all]      find (and remove) what crashed runs left behind
  faultline help                            this text

Exit codes: 0 ok, 1 a check failed, 2 usage or configuration error, 3 environment error.`;

type Command = (args: string[]) => Promise<number>;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, command: string) {
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true });
  } catch (error) {
    throw new UsageError(`${describeError(error)}. See 'faultline help' for the options of '${command}'.`);
  }
}

function loadTopology(file: string | undefined): unknown {
  if (!file) return defaultTopology;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read topology file '${file}': ${describeError(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Topology file '${file}' is not valid JSON: ${describeError(error)}`);
  }
}

const up: Command = async (args) => {
  const { values } = parse(args, { topology: { type: 'string' }, json: { type: 'boolean' } }, 'up');
  const topology = validateTopology(loadTopology(values.topology), values.topology ?? 'default topology');
  const log = createProgress();
  installInterruptCleanup();
  const cluster = await startPostgresCluster(topology, { log });
  log.pause();
  const nodes = cluster.nodes.map((node) => ({
    name: node.name,
    role: node.spec.role,
    domain: node.spec.domain,
    ...node.endpoint(),
    password: node.clientConfig().password,
  }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ runId: cluster.runId, readyMs: cluster.readyMs, nodes })}\n`);
  } else {
    for (const n of nodes) {
      process.stdout.write(`${n.name.padEnd(14)} ${n.role.padEnd(8)} ${n.domain.padEnd(14)} postgresql://postgres:${n.password}@${n.host}:${n.port}/postgres\n`);
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
  parse(args, {}, 'list');
  const width = Math.max(...experiments.map((e) => e.name.length));
  for (const e of experiments) process.stdout.write(`${e.name.padEnd(width)}  ${e.description}\n`);
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
    if (matches.length === 0) throw new UsageError(`No experiment matches '${pattern}'. Known: ${known.map((e) => e.name).join(', ')}.`);
    return matches;
  });
  return [...new Set(selected)];
}

const run: Command = async (args) => {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { seed: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${describeError(error)}. See 'faultline help' for the options of 'run'.`);
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError(`Name the experiments to run, e.g. 'faultline run healthy'. 'faultline list' shows them.`);
  const selected = selectExperiments(positionals, experiments);
  // One seed for the whole invocation, drawn when none is given: the seed the summary shows
  // replays every experiment of this command at once.
  const seed = values.seed === undefined ? randomSeed() : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed must be a whole number, 0 or more: got '${values.seed}'`);
  const log = createProgress();
  installInterruptCleanup();
  const results: ExperimentResult[] = [];
  for (const definition of selected) {
    const result = await runExperiment(definition, { seed, outDir: values.out, log });
    results.push(result);
    log.pause(); // the summary goes to stdout; the status line must not run into it
    if (!values.json) process.stdout.write(`${formatSummary(result)}\n\n`);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else if (results.length > 1) process.stdout.write(`${formatComparison(results)}\n`);
  return results.every((r) => r.verdict === 'pass') ? 0 : 1;
};

const report: Command = async (args) => {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${describeError(error)}. Usage: faultline report DIR`);
  }
  const [dir] = parsed.positionals;
  if (!dir || parsed.positionals.length > 1) throw new UsageError('Usage: faultline report DIR (the folder of a run, or of an experiment for its latest run)');
  const { result, skippedLines, complete } = recheckRun(dir);
  if (!complete) process.stderr.write(`faultline: the run in ${result.dir} did not finish; checking the history it left\n`);
  if (skippedLines > 0) process.stderr.write(`faultline: ${skippedLines} unreadable line(s) in history.jsonl were skipped (a write cut short by the crash)\n`);
  process.stdout.write(parsed.values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatSummary(result)}\n`);
  return result.verdict === 'pass' ? 0 : 1;
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
  list,
  run,
  report,
  up,
  image,
  doctor,
  help: async () => {
    process.stdout.write(`${HELP}\n`);
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
  const command = commands[name];
  try {
    if (!command) throw new UsageError(`Unknown command '${name}'. Commands: ${Object.keys(commands).join(', ')}.`);
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
  process.exitCode = await main(process.argv.slice(2));
}
