// The bound on each phase of a run, derived from the experiment: no phase, and so no run, can wait
// forever. A bound is overridable in the experiment (`deadlines`) and written to result.json.

import { RECOVERY_AWAITS } from '../recovery/types.ts';
import { ConfigError } from '../errors.ts';
import { parseDuration } from '../units.ts';
import type { PlannedFault } from './schedule.ts';

/** The phases a run bounds, in the order they happen. */
export const DEADLINE_PHASES = ['clusterStart', 'prepare', 'workload', 'recovery', 'rehearsal', 'finalRead', 'cleanup'] as const;
export type DeadlinePhase = (typeof DEADLINE_PHASES)[number];
export type Deadlines = Record<DeadlinePhase, number>;

/** What each phase waits for, in words that finish "it was waiting for …". */
export const PHASE_AWAITS: Record<DeadlinePhase, string> = {
  clusterStart: 'the cluster to start (containers, servers, followers caught up)',
  prepare: "the primary to create the workload's ledger (its first commit)",
  workload: 'the workload, its faults, the fresh backup and the recovery to end',
  recovery: RECOVERY_AWAITS.recovery,
  rehearsal: RECOVERY_AWAITS.rehearsal,
  finalRead: 'the final read of every node and its integrity verification',
  cleanup: "the run's containers, network, volumes and loop devices to be removed",
};

/** Phase names as a person reads them. */
export const PHASE_NAMES: Record<DeadlinePhase, string> = {
  clusterStart: 'the cluster start',
  prepare: "the ledger's set-up",
  workload: 'the workload',
  recovery: 'the recovery',
  rehearsal: 'the restore rehearsal',
  finalRead: 'the final read',
  cleanup: 'the clean-up',
};

const FIXED: Omit<Deadlines, 'workload'> = {
  clusterStart: 120_000,
  prepare: 30_000,
  recovery: 60_000,
  rehearsal: 90_000,
  // The final read and the integrity verification, 60 s each.
  finalRead: 120_000,
  cleanup: 60_000,
};

/** Slack for the workload beyond its duration and its faults' durations. */
const WORKLOAD_SLACK_MS = 30_000;
/** How long the timetable waits for a slow fresh backup before the change goes ahead (timetable.ts). */
const FRESH_BACKUP_WAIT_MS = 120_000;

export type DeadlinesSpec = Partial<Record<DeadlinePhase, string | number>>;

/** Checks `deadlines` of an experiment; throws ConfigError naming the bad key or value. */
export function checkDeadlinesSpec(spec: unknown, where: string): DeadlinesSpec {
  if (spec === undefined) return {};
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new ConfigError(`${where}: deadlines must be an object such as { "finalRead": "90s" }, got ${JSON.stringify(spec)}`);
  for (const [key, value] of Object.entries(spec)) {
    if (!(DEADLINE_PHASES as readonly string[]).includes(key)) throw new ConfigError(`${where}: deadlines.${key} is not a phase: use ${DEADLINE_PHASES.join(', ')}`);
    const ms = parseDuration(value as string | number);
    if (ms === undefined || ms <= 0) throw new ConfigError(`${where}: deadlines.${key} must be a positive duration like '90s' or '5m', got ${JSON.stringify(value)}`);
  }
  return spec as DeadlinesSpec;
}

/**
 * Each phase's bound: the experiment's own, else the defaults (cluster start 120 s; the ledger 30 s;
 * recovery 60 s, or a runbook's budget and 30 s; the rehearsal 90 s; the final read with integrity
 * 120 s; clean-up 60 s). The workload's bound is its duration, every fault's duration, 30 s, and the
 * recovery's and fresh backup's bounds where it has them, since they run while it does.
 */
export function resolveDeadlines(
  spec: DeadlinesSpec,
  run: { durationMs: number; planned: readonly PlannedFault[]; recovery?: { runbookBudgetMs?: number } | undefined; freshBackup: boolean },
): Deadlines {
  const given = (phase: DeadlinePhase) => (spec[phase] === undefined ? undefined : parseDuration(spec[phase]!));
  const recovery = given('recovery') ?? (run.recovery?.runbookBudgetMs !== undefined ? run.recovery.runbookBudgetMs + 30_000 : FIXED.recovery);
  const faults = run.planned.reduce((sum, f) => sum + f.durationMs, 0);
  const workload =
    given('workload') ?? run.durationMs + faults + WORKLOAD_SLACK_MS + (run.recovery ? recovery : 0) + (run.freshBackup ? FRESH_BACKUP_WAIT_MS : 0);
  return {
    clusterStart: given('clusterStart') ?? FIXED.clusterStart,
    prepare: given('prepare') ?? FIXED.prepare,
    workload,
    recovery,
    rehearsal: given('rehearsal') ?? FIXED.rehearsal,
    finalRead: given('finalRead') ?? FIXED.finalRead,
    cleanup: given('cleanup') ?? FIXED.cleanup,
  };
}
