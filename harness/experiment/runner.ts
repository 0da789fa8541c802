// Runs one experiment: start the cluster, run the workload and the schedule, read the final state
// back, check, and write the report files. Every stage cleans up in `finally`; a failure while
// cleaning up never hides the root cause. The history is on disk as it happens, and the checks run
// on what is on disk, the same files `faultline report` reads.

import { join } from 'node:path';
import { FaultlineError, describeError } from '../errors.ts';
import {
  archiveCurrentSegment,
  failover,
  followPrimary,
  ledgerRows,
  readFinalState,
  REHEARSAL_NODE,
  rejoin,
  restoreFromArchive,
  runRunbook,
  startPostgresCluster,
  takeBaseBackup,
  type StartedPostgresCluster,
} from '../cluster/postgres/index.ts';
import { lostWrites, runCheckers, writeRecords } from '../checkers/index.ts';
import { HistoryWriter, readHistory } from '../history/index.ts';
import type { FinalState } from '../history/final-state.ts';
import { LEDGER_DDL, LEDGER_TABLE, PostgresWorkload } from '../workload/index.ts';
import { randomSeed } from '../random.ts';
import { writeRunFiles } from '../report/files.ts';
import { prepareExperiment, type Experiment, type ExperimentDefinition, type StepContext } from './definition.ts';
import { planFaults, type PlannedFault } from './schedule.ts';
import { validateTopology } from '../cluster/topology.ts';
import { FaultUnavailable, findFault, resolveTarget } from '../faults/index.ts';
import { seededRandom } from '../random.ts';
import { buildResult, type ExperimentResult } from '../report/result.ts';
import { createRunDir } from '../report/run-dir.ts';
import { Timetable } from './timetable.ts';
import { sleep } from '../wait.ts';
import { PACKAGE_VERSION } from '../package-root.ts';

export interface RunOptions {
  seed?: number;
  /** Where run folders go. Default `faultline-out`. */
  outDir?: string;
  /** Progress lines. */
  log?: (line: string) => void;
  /** A prebuilt node image to use. */
  image?: string;
}


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
  const heals = new Map<string, () => Promise<unknown>>();
  const planned = planFaults(definition.faults ?? [], validateTopology(definition.topology), seed, experiment.durationMs);
  const versions: Record<string, string> = { faultline: PACKAGE_VERSION, node: process.version };
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
    const timetable = new Timetable({
      start: performance.now(),
      backupAtMs: experiment.freshBackupAtMs,
      moments: [experiment.durationMs, ...planned.map((f) => f.atMs), ...experiment.schedule.map((s) => s.atMs), ...(experiment.recovery ? [experiment.recovery.atMs] : [])],
      onShift: (ms, gaveUp) => {
        const why = gaveUp ? 'the fresh backup is still running after 2 min; the change goes ahead without it' : 'the fresh backup took longer than planned';
        history.append({ type: 'run', phase: 'phase', name: `timetable moved ${ms} ms later: ${why}`, shiftMs: ms });
        log(`${definition.name}: faults, recovery and the end of the workload move ${(ms / 1000).toFixed(1)} s later: ${why}`);
      },
    });
    workload.start();
    // The workload runs for its duration and at least until every fault has been healed.
    const context = { cluster, history, log, dir };
    await Promise.all([
      timetable.until(experiment.durationMs),
      runSchedule(experiment, context, timetable, (e) => (error ??= e)),
      ...planned.map((fault, index) => runFault(fault, `f${index}`, context, seed, timetable, heals, (e) => (error ??= e))),
      runFreshBackup(experiment, context, timetable),
      runRecovery(experiment, context, timetable),
    ]);
    const stats = await workload.stop();
    workload = undefined;
    workloadMs = stats.durationMs;
    log(`${definition.name}: ${stats.ok} writes acknowledged, ${stats.fail} failed, ${stats.info} indeterminate`);
    if (experiment.recovery?.rehearseRestore) {
      phase('restore rehearsal');
      await runRehearsal(experiment.recovery, context);
    }

    phase('reading final state');
    final = await readFinalState(cluster, { table: LEDGER_TABLE, now: () => history.now() });
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
    // A fault left injected (the run broke mid-way) is healed before anything else: a frozen
    // volume or a paused container would otherwise hang the clean-up.
    for (const [label, heal] of heals) {
      await heal().catch((healError: unknown) => log(`${definition.name}: healing ${label} failed: ${describeError(healError)}`));
    }
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
    ...(experiment.expectations.shows ? { shows: experiment.expectations.shows } : {}),
  });
  writeRunFiles(result, events, final);
  return result;
}

/**
 * The fresh base backup before the risky change, when the experiment takes one. The change (what
 * is scheduled after it) waits until it has ended, done or failed.
 */
async function runFreshBackup(experiment: Experiment, { cluster, history, log }: StepContext, timetable: Timetable): Promise<void> {
  if (experiment.freshBackupAtMs === undefined) return;
  await timetable.until(experiment.freshBackupAtMs);
  history.append({ type: 'backup', phase: 'start' });
  log('taking a fresh base backup');
  const started = performance.now();
  try {
    const detail = await takeBaseBackup(cluster);
    history.append({ type: 'backup', phase: 'end', outcome: 'ok', detail });
    log(`fresh base backup done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (caught) {
    history.append({ type: 'backup', phase: 'end', outcome: 'failed', detail: describeError(caught) });
    log(`fresh base backup failed: ${describeError(caught)}`);
  } finally {
    timetable.backupEnded();
  }
}

/**
 * Recovery: tries each action in order until one works. An action that cannot complete (no
 * replica left, no backup, the archive lost with the primary) ends failed with its reason; the run
 * goes on to checking and reporting either way.
 */
async function runRecovery(experiment: Experiment, context: StepContext, timetable: Timetable): Promise<void> {
  const plan = experiment.recovery;
  if (!plan) return;
  const { cluster, history, log } = context;
  await timetable.until(plan.atMs);
  for (const action of plan.try) {
    const before = cluster.primary();
    history.append({ type: 'recovery', phase: 'start', name: action });
    log(`recovery: ${action}`);
    let ok = false;
    try {
      const domain = plan.restoreDomain ?? cluster.archive()?.spec.domain ?? cluster.topology.domains[0]!;
      // The history's clock is monotonic; the server's recovery target is wall-clock time.
      const targetTime = plan.restoreToMs === undefined ? undefined : new Date(Date.now() - (performance.now() - timetable.time(plan.restoreToMs)));
      const detail =
        action === 'failover'
          ? await failover(cluster)
          : action === 'runbook'
            ? await runRunbook(cluster, { ...plan.runbook!, domain, dir: context.dir!, log })
            : await restoreFromArchive(cluster, { domain, ...(targetTime ? { targetTime } : {}) });
      history.append({ type: 'recovery', phase: 'end', name: action, outcome: 'ok', detail });
      log(`recovery: ${action} done: ${detail}`);
      ok = true;
    } catch (caught) {
      history.append({ type: 'recovery', phase: 'end', name: action, outcome: 'failed', detail: describeError(caught) });
      log(`recovery: ${action} failed: ${describeError(caught)}`);
    }
    // Whatever became primary (a restore that stopped at a hole in the archive still serves), the
    // archive must follow it, or the next restore would miss everything written from now on.
    if (cluster.primary() !== before) await runFollowUp('archive-follow', context, () => followPrimary(cluster));
    if (ok) {
      // The workload goes on a little after a runbook, however long it took: RTO is the first
      // write the recovered cluster acknowledges.
      if (action === 'runbook') await sleep(RUNBOOK_AFTER_MS);
      if (action === 'failover' && plan.rejoin) await runFollowUp('rejoin', context, () => rejoin(cluster));
      return;
    }
  }
}

/** How long the workload writes to the cluster a runbook recovered before the run ends. */
const RUNBOOK_AFTER_MS = 3_000;

/** A step after recovery (the archive following the new primary, the old primary rejoining): recorded, and the run goes on. */
async function runFollowUp(name: string, { history, log }: StepContext, step: () => Promise<string>): Promise<void> {
  history.append({ type: 'recovery', phase: 'start', name, followUp: true });
  log(`recovery: ${name}`);
  try {
    const detail = await step();
    history.append({ type: 'recovery', phase: 'end', name, outcome: 'ok', detail, followUp: true });
    log(`recovery: ${name} done: ${detail}`);
  } catch (caught) {
    history.append({ type: 'recovery', phase: 'end', name, outcome: 'failed', detail: describeError(caught), followUp: true });
    log(`recovery: ${name} failed: ${describeError(caught)}`);
  }
}

/**
 * The restore rehearsal: once the service is back and the workload has stopped, the current WAL
 * segment is switched and awaited in the archive, then the latest backup and the WAL archive are
 * restored into a scratch node that serves nothing, and what it holds is compared with every write
 * acknowledged before that switch (those the backup must hold). A restore that fails is recorded
 * with its reason; the run goes on.
 */
async function runRehearsal(plan: NonNullable<Experiment['recovery']>, { cluster, history, log }: StepContext): Promise<void> {
  // Everything acknowledged so far must be in the archive before the backup is judged by it: the
  // current segment is switched and awaited first. If it never arrives, the rehearsal still runs,
  // and whatever the archive lacks shows up as missing writes.
  let switched: string;
  try {
    const archived = await archiveCurrentSegment(cluster);
    switched = `WAL segment ${archived.segment} was switched on ${cluster.primary().name} and archived in ${archived.waitedMs} ms`;
  } catch (caught) {
    switched = `the current WAL segment did not reach the archive: ${describeError(caught)}`;
  }
  const cutoff = history.now();
  history.append({ type: 'rehearsal', phase: 'start', cutoff, detail: switched });
  log(`restore rehearsal: the latest backup and the WAL archive, into a scratch node (${switched})`);
  try {
    const domain = plan.restoreDomain ?? cluster.archive()?.spec.domain ?? cluster.topology.domains[0]!;
    const detail = await restoreFromArchive(cluster, { domain, rehearsal: true });
    const rows = await ledgerRows(cluster.node(REHEARSAL_NODE), LEDGER_TABLE);
    // What lost-writes would call lost, among the writes acknowledged before the switch.
    const events = readHistory(history.path).events;
    const before = new Map([...writeRecords(events)].filter(([, w]) => w.outcome === 'ok' && (w.completeTime ?? Infinity) < cutoff));
    const missing = lostWrites(before, rows);
    history.append({ type: 'rehearsal', phase: 'end', outcome: 'ok', detail, cutoff, acknowledged: before.size, missing: missing.length, missingKeys: missing.slice(0, 100).map((w) => w.key) });
    log(`restore rehearsal done: ${detail}; it lacks ${missing.length} of the ${before.size} writes acknowledged before the last archived switch`);
  } catch (caught) {
    history.append({ type: 'rehearsal', phase: 'end', outcome: 'failed', detail: describeError(caught), cutoff });
    log(`restore rehearsal failed: ${describeError(caught)}`);
  }
}

/**
 * Injects one planned fault at its time, on the node that has its target role then, and heals it
 * after its duration. Records start, active (in effect, or why it had no effect) and end.
 */
async function runFault(
  planned: PlannedFault,
  id: string,
  context: StepContext,
  seed: number,
  timetable: Timetable,
  heals: Map<string, () => Promise<unknown>>,
  onError: (error: string) => void,
): Promise<void> {
  const fault = findFault(planned.fault)!;
  const { history, log, cluster } = context;
  await timetable.until(planned.atMs);
  let target;
  try {
    target = resolveTarget(cluster, planned.target);
  } catch (caught) {
    const base = { type: 'fault' as const, id, name: fault.name, target: planned.target };
    history.append({ ...base, phase: 'start', disruptive: planned.disruptive, ...(planned.optional ? { optional: true } : {}) });
    history.append({ ...base, phase: 'end', failed: `no target: ${describeError(caught)}`, detail: `failed: no target: ${describeError(caught)}` });
    log(`fault ${fault.name} on ${planned.target} not injected: ${describeError(caught)}`);
    if (!planned.optional) onError(`fault '${fault.name}' on ${planned.target}: no target: ${describeError(caught)}`);
    return;
  }
  const base = { type: 'fault' as const, id, name: fault.name, target: target.label };
  const spec = target.label !== planned.target ? { spec: planned.target } : {};
  history.append({ ...base, ...spec, phase: 'start', disruptive: planned.disruptive, ...(planned.optional ? { optional: true } : {}) });
  log(`fault ${fault.name} on ${target.label}${fault.healable ? ` for ${planned.durationMs / 1000} s` : ''}`);
  let injected;
  try {
    injected = await fault.inject({ cluster, random: seededRandom(seed + planned.atMs), log }, target, planned.params);
  } catch (caught) {
    if (caught instanceof FaultUnavailable) {
      history.append({ ...base, phase: 'end', skipped: caught.message });
      log(`fault ${fault.name} skipped: ${caught.message}`);
      return;
    }
    const detail = `failed: ${describeError(caught)}`;
    history.append({ ...base, phase: 'end', detail, failed: describeError(caught) });
    onError(`fault '${fault.name}' on ${target.label} ${detail}`);
    return;
  }
  const noEffect = injected.noEffect ? { noEffect: injected.noEffect } : {};
  history.append({ ...base, phase: 'active', detail: injected.detail, ...noEffect });
  if (injected.noEffect) log(`fault ${fault.name} on ${target.label} had no effect: ${injected.noEffect}`);
  const heal = injected.heal;
  if (!fault.healable || !heal) {
    history.append({ ...base, phase: 'end', detail: injected.detail, ...noEffect });
    return;
  }
  const key = `${fault.name}@${target.label}@${planned.atMs}`;
  heals.set(key, heal);
  await sleep(planned.durationMs);
  heals.delete(key);
  try {
    const healed = await heal();
    history.append({ ...base, phase: 'end', detail: `${injected.detail}; healed: ${healed ?? 'done'}`, ...noEffect });
    log(`fault ${fault.name} on ${target.label} healed`);
  } catch (caught) {
    const detail = `${injected.detail}; heal failed: ${describeError(caught)}`;
    history.append({ ...base, phase: 'end', detail, ...noEffect });
    onError(`fault '${fault.name}' on ${target.label}: heal failed: ${describeError(caught)}`);
  }
}

/** Runs the scheduled steps at their times, recording each as a nemesis event. */
async function runSchedule(
  experiment: Experiment,
  context: StepContext,
  timetable: Timetable,
  onError: (error: string) => void,
): Promise<void> {
  for (const [index, step] of experiment.schedule.entries()) {
    await timetable.until(step.atMs);
    const target = step.target ?? 'cluster';
    const base = { type: 'fault' as const, id: `s${index}`, name: step.name, target };
    context.history.append({ ...base, phase: 'start', disruptive: step.disruptive ?? false });
    context.log(`${experiment.definition.name}: ${step.name} on ${target}`);
    try {
      const detail = await step.run(context);
      context.history.append({ ...base, phase: 'active', ...(detail ? { detail } : {}) });
      context.history.append({ ...base, phase: 'end', ...(detail ? { detail } : {}) });
    } catch (error) {
      const detail = `failed: ${describeError(error)}`;
      context.history.append({ ...base, phase: 'end', detail, failed: describeError(error) });
      onError(`step '${step.name}' ${detail}`);
    }
  }
}
