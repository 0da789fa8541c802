// Running a campaign: every (experiment, seed) pair, up to N clusters at once on one Docker engine.
// Each run is isolated as any run is (its own run id, network, volumes, container names and mapped
// ports). Progress says done / running / not passed and an ETA; an interrupt (Ctrl-C) stops every
// running cluster and removes it (installInterruptCleanup), and no new one starts after it.

import { availableParallelism, freemem, totalmem } from 'node:os';
import { relative, resolve } from 'node:path';
import { InterruptedError } from '../errors.ts';
import { engineFor, validateTopology } from '../engines/registry.ts';
import { runExperiment, type ExperimentDefinition, type ExperimentResult } from '../experiment/index.ts';
import { entryOf, type CampaignEntry } from './summary.ts';

/** What one cluster of a drill needs, about: three PostgreSQL servers, their clients and the harness's share. */
export const MEMORY_PER_CLUSTER = 1024 ** 3;

/** How many clusters this machine holds at once: one per core, as many as free memory allows, at least one. */
export function defaultParallel(cores = availableParallelism(), freeBytes = freemem()): { parallel: number; why: string } {
  const byMemory = Math.floor(freeBytes / MEMORY_PER_CLUSTER);
  const parallel = Math.max(1, Math.min(cores, byMemory));
  const gib = (bytes: number) => (bytes / 1024 ** 3).toFixed(1);
  return { parallel, why: `${cores} core(s), ${gib(freeBytes)} of ${gib(totalmem())} GiB free; one cluster per core, about ${gib(MEMORY_PER_CLUSTER)} GiB each` };
}

/** One pair to run: the definition, what the command line named it by (for its replay), and the seed. */
export interface PlannedRun {
  definition: ExperimentDefinition;
  source: string;
  seed: number;
}

export interface CampaignOptions {
  parallel: number;
  outDir: string;
  log: (line: string) => void;
  /** Judge each pair by what its experiment documents rather than by its verdict. */
  documented?: boolean;
  /** Prefix each run's progress lines with its pair, as runs interleave. Default: when parallel > 1. */
  prefixLogs?: boolean;
  /** Called as each pair finishes, in finishing order. */
  onResult?: (result: ExperimentResult, entry: CampaignEntry, index: number) => void;
}

const seconds = (ms: number) => (ms >= 90_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.round(ms / 1000)} s`);

/**
 * Runs every planned pair, `parallel` at a time, and returns their results in plan order. A pair
 * whose run broke midway is a failed result (as for `faultline run`); a configuration or
 * environment error (nothing could run) stops the campaign and is thrown.
 */
export async function runCampaign(plan: readonly PlannedRun[], options: CampaignOptions): Promise<Array<{ result: ExperimentResult; entry: CampaignEntry }>> {
  const { log } = options;
  const parallel = Math.max(1, Math.min(options.parallel, plan.length));
  const prefix = options.prefixLogs ?? parallel > 1;
  // Each image is built (or found) once, before runs start side by side: two would build it at once.
  // The engine's image hook decides the image; runs that share one reuse the build.
  const images = new Map<PlannedRun, string>();
  for (const run of plan) {
    const topology = validateTopology(run.definition.topology, `${run.source}: topology`);
    images.set(run, await engineFor(topology).image(topology, { log }));
  }
  const imageOf = (run: PlannedRun) => images.get(run)!;

  const started = performance.now();
  const outcomes: Array<{ result: ExperimentResult; entry: CampaignEntry } | undefined> = new Array(plan.length);
  let next = 0;
  let running = 0;
  let done = 0;
  let notPassed = 0;
  let stopped: unknown;
  const progress = () => {
    const elapsed = performance.now() - started;
    const eta = done > 0 && done < plan.length ? `, about ${seconds((elapsed / done) * (plan.length - done))} left` : '';
    return `campaign: ${done}/${plan.length} done, ${running} running, ${notPassed} did not pass${eta}`;
  };
  const worker = async () => {
    while (next < plan.length && stopped === undefined) {
      const index = next++;
      const run = plan[index]!;
      const tag = `${run.definition.name} seed ${run.seed}`;
      running++;
      try {
        const result = await runExperiment(run.definition, {
          seed: run.seed,
          outDir: options.outDir,
          image: imageOf(run),
          log: prefix ? (line) => log(`[${tag}] ${line.startsWith(`${run.definition.name}: `) ? line.slice(run.definition.name.length + 2) : line}`) : log,
        });
        const entry = entryOf(result, { source: run.source, documented: options.documented === true, dir: relative(resolve(options.outDir), result.dir) });
        outcomes[index] = { result, entry };
        done++;
        if (!entry.ok) notPassed++;
        running--;
        log(`${entry.ok ? 'passed' : 'DID NOT PASS'}: ${tag} in ${seconds(result.timings.totalMs)}; ${progress()}`);
        options.onResult?.(result, entry, index);
      } catch (error) {
        running--;
        // Nothing new starts once one pair could not run at all (bad configuration, no Docker) or
        // the campaign was interrupted; the runs already going finish (or are cleaned up).
        stopped ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  if (stopped !== undefined) throw stopped;
  if (outcomes.some((o) => o === undefined)) throw new InterruptedError('The campaign stopped before every pair ran');
  return outcomes as Array<{ result: ExperimentResult; entry: CampaignEntry }>;
}
