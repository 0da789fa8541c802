// Checkers: pure verdicts on a history and the final state. `runCheckers` runs them all; a checker
// that throws yields 'unknown' with the error, never a crash and never a pass.

import { describeError } from '../errors.ts';
import { anomaliesChecker } from './anomalies.ts';
import { archiveContinuityChecker } from './archive-continuity.ts';
import { faultsAppliedChecker } from './faults-applied.ts';
import { indeterminateChecker } from './indeterminate.ts';
import { integrityChecker } from './integrity.ts';
import { lostWritesChecker } from './lost-writes.ts';
import { replicaParityChecker } from './replica-parity.ts';
import { restoreCompletedChecker } from './restore-completed.ts';
import { restoreRehearsalChecker } from './restore-rehearsal.ts';
import { rpoChecker, rtoChecker } from './rpo-rto.ts';
import type { CheckInput, CheckResult, Checker } from './types.ts';

export * from './types.ts';
export { computeRpo, computeRto, type Outage, type Rpo, type Rto } from './rpo-rto.ts';
export { faultRecords, tookEffect, type FaultRecord } from './faults.ts';
export { writeRecords, acknowledged, lostWrites, type WriteRecord, type WriteOutcome } from './writes.ts';
export { rehearsalLoss } from './restore-rehearsal.ts';
export {
  anomaliesChecker,
  archiveContinuityChecker,
  faultsAppliedChecker,
  indeterminateChecker,
  integrityChecker,
  lostWritesChecker,
  replicaParityChecker,
  restoreCompletedChecker,
  restoreRehearsalChecker,
  rpoChecker,
  rtoChecker,
};

export const standardCheckers: Array<[string, Checker]> = [
  ['lost-writes', lostWritesChecker],
  ['anomalies', anomaliesChecker],
  ['indeterminate-writes', indeterminateChecker],
  ['rpo', rpoChecker],
  ['rto', rtoChecker],
  ['replica-parity', replicaParityChecker],
  ['integrity', integrityChecker],
  ['restore-completed', restoreCompletedChecker],
  ['archive-continuity', archiveContinuityChecker],
  ['faults-applied', faultsAppliedChecker],
];

/** The standard checks, and the restore rehearsal's where the experiment asked for one. */
export function checkersFor(input: CheckInput): Array<[string, Checker]> {
  return input.expectations.rehearseRestore ? [...standardCheckers, ['restore-rehearsal', restoreRehearsalChecker]] : standardCheckers;
}

export function runCheckers(input: CheckInput, checkers = checkersFor(input)): CheckResult[] {
  return checkers.map(([name, checker]): CheckResult => {
    const started = performance.now();
    const durationMs = () => Math.round((performance.now() - started) * 1000) / 1000;
    try {
      return { ...checker(input), durationMs: durationMs() };
    } catch (error) {
      return { name, valid: 'unknown', summary: `the checker failed: ${describeError(error)}`, details: { error: describeError(error) }, durationMs: durationMs() };
    }
  });
}
