// An experiment is one plain, serialisable description: the topology, the workload, what happens
// when (the schedule), and what it tolerates. `defineExperiment` checks it once, at the edge, so a
// mistake is reported before any container starts.

import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { configErrorOf, strictObject } from '../schema.ts';

import type { Expectations, Shows } from '../checkers/types.ts';
import { ALL_CHECK_NAMES } from '../checkers/index.ts';
import { engineFor, engines, topologyIssues, validateTopology, type TopologySpec } from '../engines/registry.ts';
import { duration } from './durations.ts';
import { parseRecoveryPlan } from './recovery-plan.ts';
import type { StartedCluster, WorkloadOptions } from '../cluster/engine.ts';
import type { RecoveryAction, RecoveryContext, RecoveryPlan } from '../recovery/types.ts';
import type { HistoryWriter } from '../history/writer.ts';
import { planFaults, type FaultSpec } from './schedule.ts';
import { checkDeadlinesSpec, DEADLINE_PHASES, type Deadlines, type DeadlinesSpec } from './deadlines.ts';

/** What a scheduled step gets to work with. */
export interface StepContext extends RecoveryContext {
  /** The bound on each phase of this run. */
  deadlines?: Deadlines;
}

/**
 * A step run at a moment of the workload. Its start and end go in the history as a nemesis event;
 * faults from the catalog are steps too.
 */
export interface ScheduledStep {
  /** When, from the start of the workload, e.g. '3s'. */
  at: string | number;
  name: string;
  /** What it acts on (a node, a role, a domain), for the history and the report. */
  target?: string;
  /** Whether it disrupts service: the first disruptive step starts the RTO clock. */
  disruptive?: boolean;
  run: (context: StepContext) => Promise<string | void>;
}

export interface ExperimentDefinition {
  /** Lower case, digits and dashes: it names the output folder and the CLI argument. */
  name: string;
  /** One line a user understands, shown by `faultline list`. */
  description: string;
  topology: TopologySpec;
  workload?: Omit<WorkloadOptions, 'wait' | 'waitAof'> & {
    /** How long the workload runs, e.g. '10s'. Default 10 s. */
    duration?: string | number;
    /**
     * Redis: `WAIT replicas timeout` after each write; what it returned is recorded on the write,
     * and the lost-writes check names lost writes it had confirmed.
     */
    wait?: { replicas: number; timeout?: string | number };
    /** Valkey: `WAITAOF local replicas timeout` after each write (the AOF fsynced locally and on replicas). */
    waitAof?: { local: number; replicas: number; timeout?: string | number };
  };
  /** Faults from the catalog, at fixed times or drawn with the run's seed. */
  faults?: FaultSpec[];
  /**
   * Take a fresh base backup into the repository at this time (the step Sidekick skipped). As an
   * operator would, the risky change waits for it: every fault, step, recovery and restore target
   * scheduled after it waits until the backup has ended (at most 2 min) and keeps its spacing, so a
   * slow backup moves them later (the history says by how much).
   */
  freshBackupAt?: string | number;
  /** What operators do after the faults: try each action in order until one succeeds. */
  recovery?: {
    at: string | number;
    /** `runbook`: your own command (see `runbook`) does the recovery instead of faultline. */
    try: Array<RecoveryAction>;
    /**
     * Your runbook: a shell command run with what an operator would have (docs/runbooks.md). It
     * must leave a primary that accepts writes and name it; it is stopped at its budget.
     */
    runbook?: { command: string; budget?: string | number };
    /** Failure domain for a restored primary's volume. Default: the archive's domain. */
    restoreDomain?: string;
    /** After a failover, turn the former primary into a replica of the new one (pg_rewind or re-clone). */
    rejoin?: boolean;
    /** Point in time for a restore, from the start of the workload (e.g. '2s'); default: the end of the archive. */
    restoreTo?: string | number;
    /**
     * After recovery (and after the workload), restore the latest backup and the WAL archive into a
     * scratch node in `restoreDomain` that serves nothing: proof that the backup restores even when
     * recovery was a failover. It must hold every write acknowledged before the WAL was switched and
     * archived just before the rehearsal (up to
     * `expect.maxLostWrites` may be missing); the `restore-rehearsal` check says so.
     */
    rehearseRestore?: boolean;
  };
  /** Custom steps (your own code) at fixed times, recorded like faults. */
  schedule?: ScheduledStep[];
  /**
   * For a drill that exists to show a danger: the checks it is documented to fail, and why
   * (`faultline run --as-documented` holds it to that; a safe drill must pass).
   */
  shows?: Shows;
  expect?: {
    maxLostWrites?: number;
    rtoBudget?: string | number;
    rpoBudget?: string | number;
    restoreMustComplete?: boolean;
  };
  /**
   * The bound on each phase, overriding the defaults derived from the experiment (cluster start
   * 120 s, the ledger 30 s, the workload its duration + the faults' durations + 30 s, recovery 60 s,
   * the rehearsal 90 s, the final read with integrity 120 s, clean-up 60 s). A phase past its bound
   * ends with what it waited for and what was last seen; result.json has the bounds.
   */
  deadlines?: DeadlinesSpec;
}

/** A checked experiment with its durations in milliseconds. */
export interface Experiment {
  definition: ExperimentDefinition;
  durationMs: number;
  /** The workload's options, durations in milliseconds. */
  workload: WorkloadOptions;
  freshBackupAtMs?: number;
  recovery?: RecoveryPlan;
  schedule: Array<ScheduledStep & { atMs: number }>;
  expectations: Expectations;
  /** The experiment's own bounds (resolved against the run's faults by resolveDeadlines). */
  deadlines: DeadlinesSpec;
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const CHECK_NAMES: string[] = [...ALL_CHECK_NAMES];

// The keys an experiment may have, at every level: a typo ('rehearseRestor', 'maxLostWrite') is
// refused with a suggestion instead of silently meaning the default. Values are checked below.
const anything = z.unknown().optional();
const faultStep = strictObject({ at: anything, fault: anything, target: anything, duration: anything, params: anything, disruptive: anything, optional: anything });
const randomFaults = strictObject({
  random: strictObject({ faults: anything, targets: anything, count: anything, from: anything, to: anything, duration: anything, optional: anything }),
});
const definitionKeys = strictObject({
  name: anything,
  description: anything,
  topology: anything,
  workload: strictObject({
    clients: anything,
    rate: anything,
    readRatio: anything,
    operationTimeoutMs: anything,
    connectTimeoutMs: anything,
    seed: anything,
    duration: anything,
    wait: strictObject({ replicas: anything, timeout: anything }).optional(),
    waitAof: strictObject({ local: anything, replicas: anything, timeout: anything }).optional(),
  }).optional(),
  faults: z
    .array(
      z.unknown().superRefine((spec, ctx) => {
        const schema = typeof spec === 'object' && spec !== null && 'random' in spec ? randomFaults : faultStep;
        for (const issue of schema.safeParse(spec).error?.issues ?? []) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
      }),
    )
    .optional(),
  freshBackupAt: anything,
  recovery: strictObject({ at: anything, try: anything, runbook: strictObject({ command: anything, budget: anything }).optional(), restoreDomain: anything, rejoin: anything, restoreTo: anything, rehearseRestore: anything }).optional(),
  schedule: z.array(strictObject({ at: anything, name: anything, target: anything, disruptive: anything, run: anything })).optional(),
  expect: strictObject({ maxLostWrites: anything, rtoBudget: anything, rpoBudget: anything, restoreMustComplete: anything }).optional(),
  deadlines: strictObject(Object.fromEntries(DEADLINE_PHASES.map((phase) => [phase, anything]))).optional(),
  shows: strictObject({
    failing: z.array(z.enum(CHECK_NAMES, { error: (i) => `${JSON.stringify(i.input)} is not a check: use ${CHECK_NAMES.join(', ')}` })).min(1),
    why: z.string().min(1),
    always: z.boolean().optional(),
  }).optional(),
});


/** Checks an experiment definition and returns it unchanged, so it can be written as a literal. */
export function defineExperiment(definition: ExperimentDefinition): ExperimentDefinition {
  prepareExperiment(definition);
  return definition;
}

export function prepareExperiment(definition: ExperimentDefinition): Experiment {
  const name = definition?.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ConfigError(`Experiment name ${JSON.stringify(name)} is not valid: use lower case letters, digits and dashes, starting with a letter`);
  }
  const where = `experiment '${name}'`;
  // Every problem of the definition's shape and of its topology at once, each with its path.
  const issues = [
    ...(definitionKeys.safeParse(definition).error?.issues ?? []),
    ...topologyIssues(definition.topology).map((issue) => ({ ...issue, path: ['topology', ...issue.path] })),
  ];
  if (issues.length > 0) throw configErrorOf(issues, where);
  const topology = validateTopology(definition.topology, `${where}, topology`);
  const workload = definition.workload ?? {};
  const durationMs = duration(workload.duration, 10_000, `${where}: workload.duration`)!;
  if (workload.clients !== undefined && (!Number.isInteger(workload.clients) || workload.clients < 1 || workload.clients > 256)) {
    throw new ConfigError(`${where}: workload.clients must be a whole number from 1 to 256, got ${JSON.stringify(workload.clients)}`);
  }
  if (workload.rate !== undefined && !(workload.rate > 0)) throw new ConfigError(`${where}: workload.rate must be a positive number of operations per second, got ${JSON.stringify(workload.rate)}`);
  if (workload.readRatio !== undefined && !(workload.readRatio >= 0 && workload.readRatio <= 1)) {
    throw new ConfigError(`${where}: workload.readRatio must be between 0 and 1, got ${JSON.stringify(workload.readRatio)}`);
  }
  const { duration: _duration, wait, waitAof, ...plain } = workload;
  const workloadOptions: WorkloadOptions = { ...plain };
  const engine = engineFor(topology);
  // Options only one engine has (Redis's WAIT) are that engine's to check.
  const engineOwn = Object.fromEntries(Object.entries({ wait, waitAof }).filter(([, value]) => value !== undefined));
  for (const key of Object.keys(engineOwn)) {
    if (engine.workloadOptions?.keys.includes(key)) continue;
    const owner = engines.find((e) => e.workloadOptions?.keys.includes(key));
    throw new ConfigError(`${where}: workload.${key} is ${owner ? `a ${owner.label} option` : 'not an option of any engine'}; this topology is ${topology.engine}: remove it`);
  }
  if (engine.workloadOptions && Object.keys(engineOwn).length > 0) Object.assign(workloadOptions, engine.workloadOptions.parse(engineOwn, topology, where));
  const schedule = (definition.schedule ?? []).map((step, i) => {
    const atMs = duration(step.at, undefined, `${where}: schedule[${i}].at`)!;
    if (atMs > durationMs) throw new ConfigError(`${where}: schedule[${i}] ('${step.name}') is at ${atMs} ms, after the workload ends at ${durationMs} ms`);
    return { ...step, atMs };
  });
  // Checked now with any seed: names, targets, durations and parameters do not depend on it.
  planFaults(definition.faults ?? [], topology, 0, durationMs, `${where}: faults`);
  const e = definition.expect ?? {};
  if (e.maxLostWrites !== undefined && (!Number.isInteger(e.maxLostWrites) || e.maxLostWrites < 0)) {
    throw new ConfigError(`${where}: expect.maxLostWrites must be a whole number, 0 or more, got ${JSON.stringify(e.maxLostWrites)}`);
  }
  const expectations: Expectations = {
    maxLostWrites: e.maxLostWrites ?? 0,
    restoreMustComplete: e.restoreMustComplete ?? true,
    ...(definition.shows ? { shows: definition.shows } : {}),
  };
  const rto = duration(e.rtoBudget, undefined, `${where}: expect.rtoBudget`);
  const rpo = duration(e.rpoBudget, undefined, `${where}: expect.rpoBudget`);
  if (rto !== undefined) expectations.rtoBudgetMs = rto;
  if (rpo !== undefined) expectations.rpoBudgetMs = rpo;
  const freshBackupAtMs = duration(definition.freshBackupAt, undefined, `${where}: freshBackupAt`);
  const recovery = definition.recovery ? parseRecoveryPlan(definition.recovery, topology, engine, where) : undefined;
  if (recovery?.rehearseRestore) expectations.rehearseRestore = true;
  const deadlines = checkDeadlinesSpec(definition.deadlines, where);
  return {
    definition,
    durationMs,
    deadlines,
    workload: workloadOptions,
    schedule: schedule.sort((a, b) => a.atMs - b.atMs),
    expectations,
    ...(freshBackupAtMs !== undefined ? { freshBackupAtMs } : {}),
    ...(recovery ? { recovery } : {}),
  };
}
