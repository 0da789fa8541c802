// Runs one experiment: start the cluster, run the workload and the schedule, read the final state
// back, check, and write the report files. Every stage cleans up in `finally`; a failure while
// cleaning up never hides the root cause. The history is on disk as it happens, and the checks run
// on what is on disk, the same files `faultline report` reads.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FaultlineError, describeError } from '../errors.ts';
import { startPostgresCluster, readFinalState, type StartedPostgresCluster } from '../cluster/postgres/index.ts';
import { runCheckers } from '../checkers/index.ts';
import { HistoryWriter, readHistory } from '../history/index.ts';
import type { FinalState } from '../history/final-state.ts';
import { LEDGER_DDL, LEDGER_TABLE, PostgresWorkload } from '../workload/index.ts';
import { randomSeed } from '../random.ts';
import { writeRunFiles } from '../report/files.ts';
import { prepareExperiment, type Experiment, type ExperimentDefinition, type StepContext } from './definition.ts';
import { buildResult, type ExperimentResult } from './result.ts';
import { createRunDir } from './run-dir.ts';

export interface RunOptions {
  seed?: number;
  /** Where run folders go. Default `faultline-out`. */
  outDir?: string;
  /** Progress lines. */
  log?: (line: string) => void;
  /** A prebuilt node image to use. */
  image?: string;
}

const FAULTLINE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Runs an experiment against a real cluster and returns its result (also written to
 * `<outDir>/<name>/<time>/result.json`). Throws only for configuration and environment errors
 * (nothing could be run); a run that breaks midway is checked and reported as failed.
 */
export async function runExperiment(definition: ExperimentDefinition, options: RunOptions = {}): Promise<ExperimentResult> {
  const experiment = prepareExperiment(definition);
  const seed = options.seed ?? randomSeed();
  const log = options.log ?? (() => {});
  const startedAt = performance.now();
  const dir = createRunDir(options.outDir ?? 'faultline-out', definition.name);
  const history = new HistoryWriter(join(dir, 'history.jsonl'), startedAt);
  history.append({
    type: 'run',
    phase: 'start',
    experiment: definition.name,
    seed,
    wallTime: new Date().toISOString(),
    expectations: experiment.expectations,
  });
  const phase = (name: string) => {
    history.append({ type: 'run', phase: 'phase', name });
    log(`${definition.name}: ${name}`);
  };

  let cluster: StartedPostgresCluster | undefined;
  let workload: PostgresWorkload | undefined;
  let final: FinalState | null = null;
  let error: string | undefined;
  let workloadMs: number | null = null;
  const versions: Record<string, string> = { faultline: FAULTLINE_VERSION, node: process.version };
  try {
    phase('starting cluster');
    cluster = await startPostgresCluster(definition.topology, { log, image: options.image });
    history.append({ type: 'run', phase: 'phase', name: 'cluster ready', runId: cluster.runId });
    versions.image = cluster.image;
    const primary = cluster.primary();
    versions.postgres = await primary.psql('SELECT version()');
    await primary.psql(LEDGER_DDL);

    phase(`workload: ${definition.workload?.clients ?? 4} clients for ${experiment.durationMs / 1000} s`);
    const current = cluster;
    workload = new PostgresWorkload(history, () => ({ node: current.primary().name, config: current.primary().clientConfig() }), {
      ...definition.workload,
      seed,
    });
    const workloadStart = performance.now();
    workload.start();
    await runSchedule(experiment, { cluster, history, log }, workloadStart, (e) => (error ??= e));
    await sleep(workloadStart + experiment.durationMs - performance.now());
    const stats = await workload.stop();
    workload = undefined;
    workloadMs = stats.durationMs;
    log(`${definition.name}: ${stats.ok} writes acknowledged, ${stats.fail} failed, ${stats.info} indeterminate`);

    phase('reading final state');
    final = await readFinalState(cluster.primary(), cluster.replicas(), { table: LEDGER_TABLE, now: () => history.now() });
  } catch (caught) {
    if (caught instanceof FaultlineError && (caught.code === 'E_CONFIG' || caught.code === 'E_ENVIRONMENT' || caught.code === 'E_INTERRUPTED')) {
      history.append({ type: 'run', phase: 'end', name: `aborted: ${caught.message}` });
      history.close();
      throw caught;
    }
    error = describeError(caught);
    history.append({ type: 'run', phase: 'phase', name: `error: ${error}` });
    log(`${definition.name}: run error: ${error}`);
  } finally {
    if (workload) await workload.stop().catch(() => {});
    if (cluster) {
      phase('removing cluster');
      await cluster.stop().catch((cleanupError: unknown) => {
        const text = `clean-up failed: ${describeError(cleanupError)}`;
        error = error ? `${error}; ${text}` : text;
      });
    }
  }
  history.append({ type: 'run', phase: 'end' });
  history.close();

  log(`${definition.name}: checking`);
  const { events } = readHistory(history.path);
  const checks = runCheckers({ history: events, final, expectations: experiment.expectations });
  const result = buildResult({
    experiment: definition.name,
    seed,
    runId: cluster?.runId ?? null,
    history: events,
    final,
    checks,
    timings: { clusterReadyMs: cluster?.readyMs ?? null, workloadMs, totalMs: Math.round(performance.now() - startedAt) },
    versions,
    dir,
    ...(error ? { error } : {}),
  });
  writeRunFiles(result, final);
  return result;
}

/** Runs the scheduled steps at their times, recording each as a nemesis event. */
async function runSchedule(
  experiment: Experiment,
  context: StepContext,
  workloadStart: number,
  onError: (error: string) => void,
): Promise<void> {
  for (const step of experiment.schedule) {
    await sleep(workloadStart + step.atMs - performance.now());
    const target = step.target ?? 'cluster';
    context.history.append({ type: 'fault', phase: 'start', name: step.name, target, disruptive: step.disruptive ?? false });
    context.log(`${experiment.definition.name}: ${step.name} on ${target}`);
    try {
      const detail = await step.run(context);
      context.history.append({ type: 'fault', phase: 'end', name: step.name, target, ...(detail ? { detail } : {}) });
    } catch (error) {
      const detail = `failed: ${describeError(error)}`;
      context.history.append({ type: 'fault', phase: 'end', name: step.name, target, detail });
      onError(`step '${step.name}' ${detail}`);
    }
  }
}
