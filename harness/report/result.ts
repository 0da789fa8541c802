// The result of a run as users and CI read it (result.json): a pure function of the history, the
// final state and the checks, so `faultline report` rebuilds the same result from the files.

import { composeValidity, computeRpo, computeRto, documentedOutcome, faultRecords, statusOf, writeRecords, type CheckResult, type CheckStatus, type Shows, type Validity } from '../checkers/index.ts';
import { isRecoveryAction, type HistoryEvent, type RecoveryEvent, type RehearsalEvent } from '../history/events.ts';
import type { FinalState } from '../history/final-state.ts';
import { readRunLogs, type RunLog } from './logs.ts';
import type { ProveRecord } from '../history/prove-evidence.ts';

/** The version of result.json's shape; it changes when a field changes meaning or goes away. */
export const RESULT_SCHEMA_VERSION = 2;

/** A run's outcome. `broken` is faultline's own failure, never the user's. */
export type Verdict = 'pass' | 'fail' | 'broken';

/**
 * The process exit code for a set of verdicts: 1 when any run failed (the evidence shows loss,
 * damage, a failed restore or a check that could not tell), else 3 when any broke (faultline's own
 * failure: nothing shown either way), else 0.
 */
export function exitCodeOf(verdicts: readonly Verdict[]): 0 | 1 | 3 {
  if (verdicts.includes('fail')) return 1;
  if (verdicts.includes('broken')) return 3;
  return 0;
}

export interface ExperimentResult {
  /** The shape's version (RESULT_SCHEMA_VERSION). */
  schemaVersion: number;
  experiment: string;
  seed: number;
  runId: string | null;
  /**
   * `pass`: every check held; `fail`: a check failed or could not tell (unknown is never a pass);
   * `broken`: faultline itself failed (its own error, in `error`), so the run shows nothing about
   * the system under test either way, whatever its checks say.
   */
  verdict: Verdict;
  /** false over unknown over true, over every check; skipped checks do not count, and skipped alone is unknown. */
  validity: Validity;
  /** `ok` is true only for a check that passed; `status` tells a skipped check (not evidence) from a failed one. */
  checks: Array<{ name: string; ok: boolean; status: CheckStatus; valid: Validity; summary: string; details: Record<string, unknown>; durationMs?: number }>;
  /**
   * Writes and appends. `confirmedLost`, only in runs whose writes were confirmed by Redis's WAIT or
   * WAITAOF: how many lost writes had been confirmed as asked.
   */
  writes: { invoked: number; acknowledged: number; failed: number; indeterminate: number; lost: number | null; anomalies: number | null; confirmedLost?: number | null };
  rpo: { writes: number | null; ms: number | null };
  rtoMs: number | null;
  restore: {
    completed: boolean | null;
    durationMs: number | null;
    /** The restore rehearsal, in experiments that run one: did the backup restore, and what did it lack. */
    rehearsal?: { completed: boolean; missing: number | null; durationMs: number | null };
  };
  /** `notApplied`: why a fault did not take effect (skipped here, failed, no effect); `optional` faults may. */
  faults: Array<{ name: string; target: string; startMs: number; endMs: number | null; detail?: string; skipped?: string; notApplied?: string; optional?: boolean }>;
  timings: { clusterReadyMs: number | null; workloadMs: number | null; totalMs: number };
  /** The bound on each phase (milliseconds), from the experiment's `deadlines` or their defaults. */
  deadlines?: Record<string, number>;
  versions: Record<string, string>;
  /** Set when the run itself broke (not when a check failed): the verdict is then `broken`. */
  error?: string;
  /** Whether the run behaved as its experiment documents (`faultline run --as-documented` exits on this). */
  documented: { ok: boolean; why: string };
  /** Files of this run. */
  dir: string;
  /** The nodes' logs kept in the run's folder (`logs/<node>/<file>`), from `logs/logs.json`. */
  logs?: RunLog[];
  /** `faultline prove-backup`: the user's backup, what was asked of it, and the evidence its checks judged. */
  prove?: ProveRecord;
}

export interface ResultInput {
  experiment: string;
  seed: number;
  runId: string | null;
  history: readonly HistoryEvent[];
  final: FinalState | null;
  checks: CheckResult[];
  timings: ExperimentResult['timings'];
  deadlines?: Record<string, number>;
  versions: Record<string, string>;
  dir: string;
  error?: string;
  /** What the experiment documents (its `shows`), for `documented`. */
  shows?: Shows;
}

/** Recovery (when attempted) ended well and the cluster then accepted a write. */
function restoreCompleted(history: readonly HistoryEvent[], final: FinalState | null, check: CheckResult | undefined): boolean | null {
  const attempts = history.filter((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'end' && isRecoveryAction(e));
  if (attempts.length > 0 && !attempts.some((a) => a.outcome === 'ok')) return false;
  if (!check || check.valid === 'unknown') return null;
  return final?.probe?.ok ?? null;
}

function rehearsal(history: readonly HistoryEvent[], check: CheckResult | undefined): { rehearsal?: NonNullable<ExperimentResult['restore']['rehearsal']> } {
  const start = history.find((e): e is RehearsalEvent => e.type === 'rehearsal' && e.phase === 'start');
  if (!start) return {};
  const end = history.find((e): e is RehearsalEvent => e.type === 'rehearsal' && e.phase === 'end');
  return {
    rehearsal: {
      completed: end?.outcome === 'ok',
      // The check's count (recomputed from the scratch node's rows when recorded), else the event's.
      missing: end?.outcome === 'ok' ? (typeof check?.details.missing === 'number' ? check.details.missing : (end.missing ?? null)) : null,
      durationMs: end ? Math.round(end.time - start.time) : null,
    },
  };
}

export function buildResult(input: ResultInput): ExperimentResult {
  const { history, final, checks } = input;
  const writes = [...writeRecords(history).values()];
  const count = (name: string, field: string): number | null => {
    const value = checks.find((c) => c.name === name)?.details[field];
    return typeof value === 'number' ? value : null;
  };
  const validity = composeValidity(checks.map((c) => c.valid));
  const faults = faultRecords(history).map((f) => ({
    name: f.name,
    target: f.target,
    startMs: f.start,
    endMs: f.end ?? null,
    ...(f.detail ? { detail: f.detail } : {}),
    ...(f.notApplied?.startsWith('skipped: ') ? { skipped: f.notApplied.slice('skipped: '.length) } : {}),
    ...(f.notApplied ? { notApplied: f.notApplied } : {}),
    ...(f.optional ? { optional: true } : {}),
  }));
  const recoveryStart = history.find((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'start' && isRecoveryAction(e));
  const recoveryEnd = [...history].reverse().find((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'end' && isRecoveryAction(e));
  const restoreCheck = checks.find((c) => c.name === 'restore-completed');
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    experiment: input.experiment,
    seed: input.seed,
    runId: input.runId,
    verdict: input.error ? 'broken' : validity === true ? 'pass' : 'fail',
    validity,
    checks: checks.map((c) => ({ name: c.name, ok: c.valid === true, status: statusOf(c.valid), valid: c.valid, summary: c.summary, details: c.details, ...(c.durationMs !== undefined ? { durationMs: c.durationMs } : {}) })),
    writes: {
      invoked: writes.length,
      acknowledged: writes.filter((w) => w.outcome === 'ok').length,
      failed: writes.filter((w) => w.outcome === 'fail').length,
      indeterminate: writes.filter((w) => w.outcome === 'info' || w.outcome === 'pending').length,
      lost: count('lost-writes', 'lost'),
      anomalies: count('anomalies', 'anomalies'),
      ...(writes.some((w) => w.confirmed) ? { confirmedLost: count('lost-writes', 'confirmedLost') } : {}),
    },
    rpo: (({ writes: w, ms }) => ({ writes: w, ms }))(computeRpo(history, final)),
    rtoMs: computeRto(history, final).ms,
    restore: {
      completed: restoreCompleted(history, final, restoreCheck),
      durationMs: recoveryStart && recoveryEnd ? Math.round(recoveryEnd.time - recoveryStart.time) : null,
      ...rehearsal(history, checks.find((c) => c.name === 'restore-rehearsal')),
    },
    faults,
    timings: input.timings,
    ...(input.deadlines ? { deadlines: input.deadlines } : {}),
    versions: input.versions,
    ...(input.error ? { error: input.error } : {}),
    documented: documentedOutcome(input.shows, checks, input.error),
    dir: input.dir,
    ...logsOf(input.dir),
  };
}

/** The logs the clean-up kept in the run's folder (the one thing read from it, not from the history). */
function logsOf(dir: string): { logs?: RunLog[] } {
  const logs = readRunLogs(dir)?.logs;
  return logs && logs.length > 0 ? { logs } : {};
}
