// What recovery needs from the run that drives it: the plan, the cluster with its history, and the
// run's clock. The experiment runner supplies them; recovery does not know experiments.

import type { StartedCluster } from '../cluster/engine.ts';
import type { HistoryWriter } from '../history/writer.ts';

export type RecoveryAction = 'failover' | 'restore' | 'runbook';

/** The recovery an experiment plans, its times in milliseconds from the workload's start. */
export interface RecoveryPlan {
  atMs: number;
  try: RecoveryAction[];
  runbook?: { command: string; budgetMs: number };
  restoreDomain?: string;
  rejoin?: boolean;
  restoreToMs?: number;
  rehearseRestore?: boolean;
}

/** The cluster and its record, as every step of a run gets them. */
export interface RecoveryContext {
  cluster: StartedCluster;
  history: HistoryWriter;
  log: (line: string) => void;
  /** The run's folder, for files a step writes (a runbook's context and output). */
  dir?: string;
  /** Bounds on a recovery action and on the rehearsal, in milliseconds. */
  deadlines?: { recovery: number; rehearsal: number };
}

/** The run's clock as recovery needs it (experiment/timetable.ts keeps it). */
export interface RecoveryClock {
  /** Resolves at `atMs` from the workload's start (later if the timetable shifted). */
  until(atMs: number): Promise<void>;
  /** Waits until every fault planned before `atMs` has acted; returns how long that took. */
  faultsActed(atMs: number): Promise<number>;
  /** The `performance.now()` of a moment of the plan. */
  time(atMs: number): number;
  backupEnded(): void;
}

/** What a phase of recovery waits for, said when its bound passes. */
export const RECOVERY_AWAITS = {
  recovery: 'a recovery action to complete',
  rehearsal: 'the restore rehearsal to restore the backup into a scratch node',
} as const;
