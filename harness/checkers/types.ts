// What checkers take and give. A checker is a pure function of the history and the final state
// read back from the recovered cluster; it never talks to a container.

import type { HistoryEvent, Millis } from '../history/events.ts';

/** true: held; false: violated; 'unknown': cannot tell (e.g. no final read), which is never a pass. */
export type Validity = true | false | 'unknown';

export interface CheckResult {
  name: string;
  valid: Validity;
  /** One line a person reads first. */
  summary: string;
  details: Record<string, unknown>;
}

/** Table name to a content hash of all its rows. */
export type TableHashes = Record<string, string>;

/** What the harness read back from the cluster after the run (gathered by the runner, checked here). */
export interface FinalState {
  /** When the final read began. */
  time: Millis;
  primary: {
    node: string;
    /** Ledger rows, key to value; absent when the primary could not be read. */
    rows?: Record<string, string>;
    tables?: TableHashes;
    error?: string;
  } | null;
  replicas: Array<{ node: string; tables?: TableHashes; error?: string }>;
  /** Server verification tools run on the recovered cluster (pg_amcheck, …). */
  integrity: Array<{ tool: string; node: string; exitCode: number; output: string }>;
  /** A write attempted on the recovered primary after the run: did it get acknowledged? */
  probe: { ok: boolean; time: Millis; latencyMs: number; node: string; error?: string } | null;
}

/** What the experiment tolerates. */
export interface Expectations {
  /** Acknowledged writes that may be lost. Default 0. */
  maxLostWrites: number;
  /** Longest acceptable RTO, if any. */
  rtoBudgetMs?: number;
  /** Largest acceptable RPO window, if any. */
  rpoBudgetMs?: number;
  /** The recovered cluster must accept a new write. Default true. */
  restoreMustComplete: boolean;
}

export const defaultExpectations: Expectations = { maxLostWrites: 0, restoreMustComplete: true };

export interface CheckInput {
  history: readonly HistoryEvent[];
  final: FinalState | null;
  expectations: Expectations;
}

export type Checker = (input: CheckInput) => CheckResult;

/** false over unknown over true. */
export function composeValidity(values: Validity[]): Validity {
  if (values.includes(false)) return false;
  if (values.includes('unknown')) return 'unknown';
  return true;
}
