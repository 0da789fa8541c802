// Checkers: pure verdicts on a history and the final state. `runCheckers` runs them all; a checker
// that throws yields 'unknown' with the error, never a crash and never a pass.

import { describeError } from '../errors.ts';
import { isOp } from '../history/events.ts';
import { anomaliesChecker } from './anomalies.ts';
import { availabilityChecker } from './availability.ts';
import { archiveContinuityChecker } from './archive-continuity.ts';
import { faultsAppliedChecker } from './faults-applied.ts';
import { indeterminateChecker } from './indeterminate.ts';
import { integrityChecker } from './integrity.ts';
import { lostWritesChecker } from './lost-writes.ts';
import { orderChecker } from './order.ts';
import { replicaParityChecker } from './replica-parity.ts';
import { restoreCompletedChecker } from './restore-completed.ts';
import { restoreRehearsalChecker } from './restore-rehearsal.ts';
import { rpoChecker, rtoChecker } from './rpo-rto.ts';
import { hasManager, splitBrainChecker } from './split-brain.ts';
import { managerActedChecker } from './manager-acted.ts';
import { failoverChoiceChecker } from './failover-choice.ts';
import type { CheckInput, CheckResult, Checker } from './types.ts';

export * from './types.ts';
export { computeLossWindow, computeRpo, computeRto, type LossWindow, type Outage, type Rpo, type Rto } from './rpo-rto.ts';
export { verdictOf } from './integrity.ts';
export type { RestoreLoss } from './restore-loss.ts';
export { faultRecords, tookEffect, type FaultRecord } from './faults.ts';
export { writeRecords, acknowledged, lostWrites, isWriteFunction, type WriteRecord, type WriteOutcome, type WriteFunction } from './writes.ts';
export { orderFindings, type OrderFindings, type Reordering } from './order.ts';
export { rehearsalLoss } from './restore-rehearsal.ts';
export {
  anomaliesChecker,
  availabilityChecker,
  archiveContinuityChecker,
  faultsAppliedChecker,
  indeterminateChecker,
  integrityChecker,
  lostWritesChecker,
  orderChecker,
  replicaParityChecker,
  restoreCompletedChecker,
  restoreRehearsalChecker,
  rpoChecker,
  rtoChecker,
  splitBrainChecker,
  managerActedChecker,
  failoverChoiceChecker,
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

/** Every check a run may report: the standard ones and those only some runs have (`shows.failing` names these). */
export const ALL_CHECK_NAMES: readonly string[] = [...standardCheckers.map(([name]) => name), 'restore-rehearsal', 'order', 'availability', 'split-brain', 'manager-acted', 'failover-choice'];

/**
 * The standard checks, the restore rehearsal's where the experiment asked for one, the order of
 * appends where the history has any (a Redis list workload; PostgreSQL runs have none), split brain
 * and what the manager did where the cluster's own HA manager chose the primary, and
 * availability where a phase passed its bound.
 */
export function checkersFor(input: CheckInput): Array<[string, Checker]> {
  const checkers: Array<[string, Checker]> = input.expectations.rehearseRestore ? [...standardCheckers, ['restore-rehearsal', restoreRehearsalChecker]] : standardCheckers;
  const withOrder: Array<[string, Checker]> = [
    ...checkers,
    ...(input.history.some((e) => isOp(e) && e.f === 'append') ? [['order', orderChecker] as [string, Checker]] : []),
    ...(hasManager(input.history) ? ([['split-brain', splitBrainChecker], ['manager-acted', managerActedChecker], ['failover-choice', failoverChoiceChecker]] as Array<[string, Checker]>) : []),
  ];
  // Availability is judged where a phase passed its bound; elsewhere every phase ended in time.
  return input.history.some((e) => e.type === 'run' && e.phase === 'stalled') ? [['availability', availabilityChecker], ...withOrder] : withOrder;
}

/** The checks whose failure a fault's caveat (something it could not model) makes unknown. */
const CAVEATED = new Set(['lost-writes', 'integrity', 'restore-rehearsal', 'replica-parity']);

/**
 * A fault that said it could not model its target faithfully (Injected.caveat) leaves a loss or
 * damage found after it unproven: the check is unknown, with the reason, instead of failing.
 */
function caveated(result: Omit<CheckResult, 'durationMs'>, history: CheckInput['history']): Omit<CheckResult, 'durationMs'> {
  if (result.valid !== false || !CAVEATED.has(result.name)) return result;
  const caveats = [...new Set(history.flatMap((e) => (e.type === 'fault' && e.phase === 'active' && e.caveat ? [e.caveat] : [])))];
  if (caveats.length === 0) return result;
  return { ...result, valid: 'unknown', summary: `${result.summary}; not counted as a failure: ${caveats.join('; ')}`, details: { ...result.details, caveats } };
}

export function runCheckers(input: CheckInput, checkers = checkersFor(input)): CheckResult[] {
  return checkers.map(([name, checker]): CheckResult => {
    const started = performance.now();
    const durationMs = () => Math.round((performance.now() - started) * 1000) / 1000;
    try {
      return { ...caveated(checker(input), input.history), durationMs: durationMs() };
    } catch (error) {
      return { name, valid: 'unknown', summary: `the checker failed: ${describeError(error)}`, details: { error: describeError(error) }, durationMs: durationMs() };
    }
  });
}
