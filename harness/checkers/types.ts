// What checkers take and give. A checker is a pure function of the history and the final state
// read back from the recovered cluster; it never talks to a container.

import type { HistoryEvent } from '../history/events.ts';

/**
 * true: held; false: violated; 'unknown': could not tell (e.g. no final read), which is never a
 * pass; 'skipped': not applicable here, or a measure without a budget (the summary says which and
 * why). A skipped check is not evidence: it neither passes nor fails a run.
 */
export type Validity = true | false | 'unknown' | 'skipped';

export interface CheckResult {
  name: string;
  valid: Validity;
  /** One line a person reads first. */
  summary: string;
  details: Record<string, unknown>;
}

export type { FinalState, TableHashes } from '../history/final-state.ts';
import type { FinalState } from '../history/final-state.ts';

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
  /** A restore rehearsal runs after recovery and must restore the backup with at most maxLostWrites missing. */
  rehearseRestore?: boolean;
}

export const defaultExpectations: Expectations = { maxLostWrites: 0, restoreMustComplete: true };

export interface CheckInput {
  history: readonly HistoryEvent[];
  final: FinalState | null;
  expectations: Expectations;
}

export type Checker = (input: CheckInput) => CheckResult;

/**
 * false over unknown over true; skipped checks do not count. Where nothing but skipped checks (or
 * nothing at all) remains, nothing was shown: unknown, never a pass.
 */
export function composeValidity(values: Validity[]): Validity {
  if (values.includes(false)) return false;
  if (values.includes('unknown')) return 'unknown';
  if (values.includes(true)) return true;
  return 'unknown';
}

/** How a check reads in result.json, the terminal and reports. */
export type CheckStatus = 'pass' | 'fail' | 'unknown' | 'skipped';

export function statusOf(valid: Validity): CheckStatus {
  return valid === true ? 'pass' : valid === false ? 'fail' : valid;
}
