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
  /** How long the checker took (set by runCheckers). */
  durationMs?: number;
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
  /** For a drill that exists to show a danger: what it is documented to find (see Shows). */
  shows?: Shows;
}

/**
 * What a drill that demonstrates a danger is documented to find: the checks a run fails, and why.
 * With `always` (the default) every run must fail them all; with `always: false` a run may also
 * pass, but no other check may fail. `faultline run --as-documented` holds drills to this.
 */
export interface Shows {
  failing: string[];
  why: string;
  always?: boolean;
}

/** Did the run behave as its experiment documents (pass for a safe setup; the documented failures for a demonstration)? */
export function documentedOutcome(shows: Shows | undefined, checks: readonly CheckResult[], error?: string): { ok: boolean; why: string } {
  if (error) return { ok: false, why: `the run itself broke: ${error}` };
  const failed = checks.filter((c) => c.valid === false || c.valid === 'unknown').map((c) => c.name);
  if (!shows) {
    return composeValidity(checks.map((c) => c.valid)) === true
      ? { ok: true, why: 'passes, as a safe setup must' }
      : { ok: false, why: `a setup documented as safe did not pass (${failed.join(', ')})` };
  }
  const falseChecks = new Set(checks.filter((c) => c.valid === false).map((c) => c.name));
  if (shows.always !== false) {
    const missing = shows.failing.filter((name) => !falseChecks.has(name));
    return missing.length === 0
      ? { ok: true, why: `fails ${shows.failing.join(', ')}, as documented: ${shows.why}` }
      : { ok: false, why: `documented to fail ${shows.failing.join(', ')} (${shows.why}), but ${missing.join(', ')} did not fail` };
  }
  const unexpected = failed.filter((name) => !shows.failing.includes(name));
  return unexpected.length === 0
    ? { ok: true, why: falseChecks.size ? `fails ${[...falseChecks].join(', ')}, as documented: ${shows.why}` : `passes; it may fail ${shows.failing.join(', ')}: ${shows.why}` }
    : { ok: false, why: `only ${shows.failing.join(', ')} may fail (${shows.why}), but ${unexpected.join(', ')} did` };
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
