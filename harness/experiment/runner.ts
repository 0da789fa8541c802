// Runs one experiment: start the cluster, run the workload and the schedule, read the final state
// back, check, and write the report files. Every stage cleans up in `finally`; a failure while
// cleaning up never hides the root cause. The history is on disk as it happens, and the checks run
// on what is on disk, the same files `faultline report` reads.

import { join } from 'node:path';
import { DeadlineError, FaultlineError, describeError } from '../errors.ts';
import { engineFor } from '../engines/registry.ts';
import type { ScratchNode, StartedCluster, Workload } from '../cluster/engine.ts';
import type { HaWatch } from '../cluster/ha-ability.ts';
import { runCheckers } from '../checkers/index.ts';
import { HistoryWriter, readHistory } from '../history/index.ts';
import type { FinalState } from '../history/final-state.ts';
import { randomSeed } from '../random.ts';
import { writeRunFiles } from '../report/files.ts';
import { prepareExperiment, type Experiment, type ExperimentDefinition, type StepContext } from './definition.ts';
import { planFaults } from './schedule.ts';
import { restoreDomainOf, runFreshBackup, runRecovery, runRehearsal } from '../recovery/steps.ts';
import { runFault, runSchedule } from './fault-steps.ts';
import { validateTopology } from '../engines/registry.ts';
import { faultfsFor, settleVolumes } from '../faults/index.ts';
import { buildResult, type ExperimentResult } from '../report/result.ts';
import { createRunDir } from '../report/run-dir.ts';
import { Timetable } from './timetable.ts';
import { withDeadline } from '../wait.ts';
import { PHASE_AWAITS, PHASE_NAMES, resolveDeadlines, type DeadlinePhase } from './deadlines.ts';
import { newRunId, removeRunResources, getEngine } from '../cluster/docker/index.ts';
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
  const userLog = options.log ?? (() => {});
  const startedAt = performance.now();
  const topology = validateTopology(definition.topology);
  const engine = engineFor(topology);
  const planned = planFaults(definition.faults ?? [], topology, seed, experiment.durationMs);
  const deadlines = resolveDeadlines(experiment.deadlines, {
    durationMs: experiment.durationMs,
    planned,
    recovery: experiment.recovery ? (experiment.recovery.runbook ? { runbookBudgetMs: experiment.recovery.runbook.budgetMs } : {}) : undefined,
    freshBackup: experiment.freshBackupAtMs !== undefined,
  });
  const dir = createRunDir(options.outDir ?? 'faultline-out', definition.name);
  const history = new HistoryWriter(join(dir, 'history.jsonl'), startedAt);
  history.append({
    type: 'run',
    phase: 'start',
    experiment: definition.name,
    seed,
    wallTime: new Date().toISOString(),
    expectations: experiment.expectations,
    deadlines,
  });
  // What was last seen, for a phase that passes its bound: the last progress line and its age.
  let lastLine: { text: string; at: number } | undefined;
  const log = (line: string) => {
    lastLine = { text: line, at: performance.now() };
    userLog(line);
  };
  const lastSeen = () => (lastLine ? `'${lastLine.text}', ${((performance.now() - lastLine.at) / 1000).toFixed(1)} s before` : undefined);
  const bounded = <T>(phaseName: DeadlinePhase, work: Promise<T>): Promise<T> =>
    withDeadline(work, { phase: PHASE_NAMES[phaseName], ms: deadlines[phaseName], awaited: PHASE_AWAITS[phaseName], lastSeen });
  const phase = (name: string) => {
    history.append({ type: 'run', phase: 'phase', name });
    log(`${definition.name}: ${name}`);
  };
  // faultline's own failure: the run is broken, whatever its checks say.
  const runError = (text: string) => {
    error = error ? `${error}; ${text}` : text;
    history.append({ type: 'run', phase: 'phase', name: `error: ${text}` });
    log(`${definition.name}: run error: ${text}`);
  };

  let cluster: StartedCluster | undefined;
  let workload: Workload | undefined;
  let final: FinalState | null = null;
  let rehearsal: FinalState['rehearsal'];
  let error: string | undefined;
  // A configuration, environment or interrupt error ends the run without a result: it is thrown
  // once the clean-up in `finally` (which still writes to the history) has run.
  let abort: FaultlineError | undefined;
  // A step or fault that fails once the run has moved on (a phase passed its bound, clean-up
  // removed its containers) was abandoned: its late error is not the run's.
  let abandoned = false;
  const stepError = (text: string) => {
    if (!abandoned) error ??= text;
  };
  let workloadMs: number | null = null;
  let scratch: ScratchNode | undefined;
  let watch: HaWatch | undefined;
  const heals = new Map<string, () => Promise<unknown>>();
  // Chosen here, so that a cluster start past its bound can still be removed by its label.
  const runId = newRunId();
  const versions: Record<string, string> = { faultline: PACKAGE_VERSION, node: process.version };
  // faultfs goes under every node's volume when a fault needs it (io-error, power-loss).
  const faultfs = faultfsFor(planned);
  try {
    phase('starting cluster');
    if (faultfs) log(`${definition.name}: faultfs under every volume${faultfs.lostWrites ? ', un-fsynced data kept apart' : ''}`);
    const starting = engine.start(topology, { log, runId, logsDir: join(dir, 'logs'), ...(options.image ? { image: options.image } : {}), ...(faultfs ? { faultfs } : {}) });
    try {
      cluster = await bounded('clusterStart', starting);
    } catch (caught) {
      // A start that hangs is stopped by removing what it made: its own clean-up then runs as it fails.
      if (caught instanceof FaultlineError && (caught.code === 'E_CONFIG' || caught.code === 'E_ENVIRONMENT' || caught.code === 'E_INTERRUPTED')) {
      abort = caught;
    } else if (caught instanceof DeadlineError) {
        starting.then((late) => late.stop(), () => {}).catch(() => {});
        await getEngine().then((docker) => removeRunResources(docker, runId)).catch(() => {});
      }
      throw caught;
    }
    history.append({ type: 'run', phase: 'phase', name: 'cluster ready', runId: cluster.runId });
    for (const note of cluster.notes) history.append({ type: 'run', phase: 'phase', name: note });
    versions.image = cluster.image;
    versions[engine.name] = await bounded('prepare', engine.prepare(cluster));
    const packages = await imagePackages(cluster);
    if (packages) versions.packages = packages;

    // The cluster's own HA manager fails over; faultline watches it and records each role change.
    const manager = engine.manager?.(cluster);
    if (manager) {
      history.append({ type: 'manager', by: manager.name, what: 'watching', detail: manager.describe });
      watch = await bounded('prepare', manager.watch(history, log));
    }
    if (faultfs?.lostWrites) await settleVolumes(cluster.nodes);
    phase(`workload: ${definition.workload?.clients ?? 4} clients for ${experiment.durationMs / 1000} s`);
    workload = engine.workload(cluster, history, { ...experiment.workload, seed });
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
    const context = { cluster, history, log, dir, deadlines };
    if (experiment.recovery) timetable.planRecovery(experiment.recovery.atMs);
    const acting = [
      runSchedule(experiment, context, timetable, stepError),
      ...planned.map((fault, index) => {
        // Registered before any fault waits for its moment, so that later ones know to wait for it.
        const order = timetable.fault(fault.atMs);
        return runFault(fault, `f${index}`, context, seed, timetable, heals, stepError, order).finally(order.end);
      }),
      runFreshBackup(experiment.freshBackupAtMs, context, timetable),
      runRecovery(experiment.recovery, context, timetable).finally(() => timetable.recoveryEnded()),
    ];
    // The rehearsal's scratch node starts as soon as nothing scheduled is left to act (every step,
    // fault and heal, the backup and the recovery have ended), while the workload runs out: no fault
    // can reach it, and the rehearsal does not wait for a container to start.
    const plan = experiment.recovery;
    if (plan?.rehearseRestore && engine.startScratchNode) {
      const started = cluster;
      scratch = Promise.allSettled(acting).then(() => engine.startScratchNode!(started, { domain: restoreDomainOf(plan, started) }));
      scratch.catch(() => {}); // its failure is the rehearsal's to report
    }
    const running = workload;
    const stats = await bounded(
      'workload',
      Promise.all([timetable.until(experiment.durationMs), ...acting]).then(() => running.stop()),
    );
    workload = undefined;
    workloadMs = stats.durationMs;
    log(`${definition.name}: ${stats.ok} writes acknowledged, ${stats.fail} failed, ${stats.info} indeterminate`);
    if (experiment.recovery?.rehearseRestore) {
      phase('restore rehearsal');
      rehearsal = await runRehearsal(experiment.recovery, context, scratch);
    }

    if (watch && manager) {
      phase(`waiting for ${manager.name} to settle`);
      const { settled, detail } = await watch.settle(30_000);
      history.append({ type: 'manager', by: manager.name, what: settled ? 'settled' : 'unsettled', detail });
    }
    phase('reading final state');
    final = await bounded('finalRead', engine.readFinalState(cluster, { now: () => history.now() }));
    if (rehearsal) final.rehearsal = rehearsal;
  } catch (caught) {
    abandoned = true;
    if (caught instanceof FaultlineError && (caught.code === 'E_CONFIG' || caught.code === 'E_ENVIRONMENT' || caught.code === 'E_INTERRUPTED')) {
      abort = caught;
    } else if (caught instanceof DeadlineError) {
      // Whether the system under test stopped serving is for the evidence to say: what its servers
      // show now (a commit waiting for a synchronous standby). Without such evidence the hang is
      // taken as faultline's own, and the run is broken rather than blamed on the user's setup.
      const evidence = cluster && engine.diagnoseStall ? await withDeadline(engine.diagnoseStall(cluster), { phase: 'looking for why the phase stalled', ms: 15_000, awaited: "the servers' own view" }).catch(() => [] as string[]) : [];
      history.append({ type: 'run', phase: 'stalled', name: caught.message, deadline: caught.phase, boundMs: caught.boundMs, awaited: caught.awaited, ...(caught.lastSeen ? { lastSeen: caught.lastSeen } : {}), evidence });
      log(`${definition.name}: ${caught.message}`);
      if (evidence.length > 0) log(`${definition.name}: the system under test stopped serving: ${evidence.join('; ')}`);
      else runError(`${caught.message}; nothing the servers showed explains it, so it is taken as faultline's own hang`);
    } else {
      runError(describeError(caught));
    }
  } finally {
    abandoned = true;
    // A fault left injected (the run broke mid-way) is healed before anything else: a frozen
    // volume or a paused container would otherwise hang the clean-up.
    // Each heal is bounded: a heal that hangs must not keep the cluster from being removed. After a
    // signal none is tried: the run's containers take no more commands, and clean-up thaws.
    for (const [label, heal] of abort?.code === 'E_INTERRUPTED' ? [] : heals) {
      await withDeadline(heal(), { phase: `healing ${label}`, ms: 15_000, awaited: 'the fault to be healed' }).catch((healError: unknown) =>
        log(`${definition.name}: healing ${label} failed: ${describeError(healError)}`),
      );
    }
    if (watch) await watch.stop().catch(() => {});
    if (workload) await withDeadline(workload.stop(), { phase: 'stopping the workload', ms: 15_000, awaited: 'the clients to end' }).catch(() => {});
    if (cluster) {
      phase('removing cluster');
      await bounded('cleanup', cluster.stop()).catch((cleanupError: unknown) => {
        const text = `clean-up failed: ${describeError(cleanupError)}`;
        error = error ? `${error}; ${text}` : text;
      });
    }
  }
  if (abort) {
    history.append({ type: 'run', phase: 'end', name: `aborted: ${abort.message}` });
    history.close();
    throw abort;
  }
  history.append({ type: 'run', phase: 'end' });
  history.close();

  log(`${definition.name}: checking`);
  const { events } = readHistory(history.path);
  const checks = runCheckers({ history: events, final, expectations: experiment.expectations });
  const result = buildResult({
    experiment: definition.name,
    seed,
    runId: cluster?.runId ?? runId,
    history: events,
    final,
    checks,
    timings: { clusterReadyMs: cluster?.readyMs ?? null, workloadMs, totalMs: Math.round(performance.now() - startedAt) },
    deadlines,
    versions,
    dir,
    ...(error ? { error } : {}),
    ...(experiment.expectations.shows ? { shows: experiment.expectations.shows } : {}),
  });
  writeRunFiles(result, events, final);
  return result;
}

/** What each node image recorded of its packages, read once per image (every run of a campaign shares it). */
const packagesOfImage = new Map<string, string>();

/**
 * The exact Debian package versions the node image was built with (the server, its backup tool,
 * fuse3, libc6), as the image recorded them: e.g. "postgresql-17 17.6-0+deb13u1, pgbackrest 2.55.1-1".
 */
async function imagePackages(cluster: StartedCluster): Promise<string | undefined> {
  const known = packagesOfImage.get(cluster.image);
  if (known !== undefined) return known;
  const node = cluster.nodes[0];
  if (!node) return undefined;
  const read = await node.run(['cat', '/usr/local/share/faultline/packages'], { timeoutMs: 10_000 }).catch(() => undefined);
  if (!read || read.exitCode !== 0) return undefined;
  const packages = read.stdout.trim().split('\n').filter(Boolean).join(', ');
  if (!packages) return undefined;
  packagesOfImage.set(cluster.image, packages);
  return packages;
}
