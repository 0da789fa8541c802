// What checkers take and give. A checker is a pure function of the history and the final state
// read back from the recovered cluster; it never talks to a container.

import type { HistoryEvent } from '../history/events.ts';

/** true: held; false: violated; 'unknown': cannot tell (e.g. no final read), which is never a pass. */
export type Validity = true | false | 'unknown';

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

/** false over unknown over true. */
export function composeValidity(values: Validity[]): Validity {
  if (values.includes(false)) return false;
  if (values.includes('unknown')) return 'unknown';
  return true;
}
