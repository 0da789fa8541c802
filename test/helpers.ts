// Helpers shared by the integration tests: what Docker and the kernel still hold for a run, running
// an experiment and reading what it left, and the CLI as a user runs it.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { runExperiment, type ExperimentDefinition, type ExperimentResult } from '../harness/experiment/index.ts';
import type { HistoryEvent } from '../harness/history/events.ts';
import type { ValidateResult } from '../harness/validate/index.ts';
import { getEngine } from '../harness/cluster/docker/engine.ts';
import { LABEL_RUN } from '../harness/cluster/docker/labels.ts';
import { listLoopDevices } from '../harness/cluster/docker/doctor.ts';

export interface Leftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
  loopDevices: string[];
}

/** Everything labelled with (or, for loop devices, backed by an image of) this run. */
export async function leftovers(runId: string): Promise<Leftovers> {
  const { docker } = await getEngine();
  const filters = JSON.stringify({ label: [`${LABEL_RUN}=${runId}`] });
  const loops = await listLoopDevices();
  return {
    containers: (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0] ?? c.Id),
    networks: (await docker.listNetworks({ filters })).map((n) => n.Name),
    volumes: ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name),
    loopDevices: loops.filter((l) => l.runId === runId).map((l) => `${l.device} ${l.backingFile}`),
  };
}

/** Loop devices are released asynchronously after their container dies: poll for a few seconds. */
export async function waitForNoLeftovers(runId: string, timeoutMs = 10_000): Promise<Leftovers> {
  const deadline = Date.now() + timeoutMs;
  let found = await leftovers(runId);
  while (Date.now() < deadline && Object.values(found).some((list) => list.length > 0)) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    found = await leftovers(runId);
  }
  return found;
}

export const nothingLeft: Leftovers = { containers: [], networks: [], volumes: [], loopDevices: [] };

/** Runs the faultline CLI in a child process, as a user would. */
export function cli(args: string[], options: { env?: Record<string, string> } = {}) {
  return execa('node', ['harness/cli.ts', ...args], { reject: false, env: options.env, all: true });
}

/** A fresh temporary directory (a run's out dir, or scratch space); `prefix` says which test made it. */
export function out(prefix = 'faultline-it-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Runs an experiment through the product's own code path into a fresh out dir, then asserts that
 * nothing of the run is left behind. A run that broke before it had an id has nothing to look for:
 * pass `{ runIdOptional: true }` where a test expects such runs (otherwise the check runs anyway).
 */
export async function run(definition: ExperimentDefinition, seed = 1, options: { runIdOptional?: boolean } = {}): Promise<ExperimentResult> {
  const result = await runExperiment(definition, { outDir: out(), seed });
  if (!options.runIdOptional || result.runId) expect(await waitForNoLeftovers(result.runId!)).toEqual(nothingLeft);
  return result;
}

export type Check = ExperimentResult['checks'][number];

/** The check of this name in a result, or undefined when the run has none by that name. */
export function check(result: ExperimentResult, name: string): Check | undefined {
  return result.checks.find((c) => c.name === name);
}

/** The check of this name in a result, for tests that rely on it being there: throws, naming it, if not. */
export function requireCheck(result: ExperimentResult, name: string): Check {
  const found = check(result, name);
  if (!found) throw new Error(`no check '${name}' in the result (it has ${result.checks.map((c) => c.name).join(', ') || 'none'})`);
  return found;
}

/** The events of a run's history.jsonl, in order; `run` is a result or its run folder. */
export function historyOf<T = HistoryEvent>(run: { dir: string } | string): T[] {
  const dir = typeof run === 'string' ? run : run.dir;
  return readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as T);
}

/** A readable summary of a result for assertion messages: seed, error, every check and every fault. */
export function why(result: ExperimentResult): string {
  const checks = result.checks.map((c) => `${c.name}: ${c.valid} ${c.summary}`).join('\n');
  const faults = result.faults.map((f) => `${f.name}: ${f.detail}`).join('\n');
  return `seed ${result.seed}: ${result.error ?? ''}\n${checks}\n${faults}`;
}

/**
 * Runs `faultline prove-backup` as a user would, with `--json` and a fresh `--out`: its result, exit
 * code and output. Nothing of its run may be left behind.
 */
export async function proveBackupCli(args: string[]): Promise<{ exitCode: number; result: ExperimentResult; all: string }> {
  const ran = await cli(['prove-backup', ...args, '--out', out('faultline-prove-'), '--json']);
  let result: ExperimentResult;
  try {
    result = JSON.parse(ran.stdout) as ExperimentResult;
  } catch {
    throw new Error(`prove-backup printed no result (exit ${ran.exitCode}):\n${ran.all}`);
  }
  if (result.runId) expect(await waitForNoLeftovers(result.runId)).toEqual(nothingLeft);
  return { exitCode: ran.exitCode ?? -1, result, all: ran.all ?? '' };
}

/**
 * `faultline validate ARGS --out DIR --json` through the CLI, as users run it: the parsed
 * validate.json and the exit code, once every drill's containers, networks, volumes and loop
 * devices are gone.
 */
export async function validateViaCli(args: string[], prefix: string): Promise<{ exitCode: number | undefined; result: ValidateResult }> {
  const dir = out(prefix);
  const run = await cli(['validate', ...args, '--out', dir, '--json']);
  expect(run.stderr, run.stderr).not.toMatch(/internal error/);
  const result = JSON.parse(run.stdout) as ValidateResult;
  for (const drill of result.drills.filter((d) => d.runDir)) {
    const { runId } = JSON.parse(readFileSync(join(dir, drill.runDir!, 'result.json'), 'utf8')) as { runId: string };
    expect(await waitForNoLeftovers(runId)).toEqual(nothingLeft);
  }
  return { exitCode: run.exitCode, result };
}
