import type { Checker } from './types.ts';

/**
 * Restore completed: the recovered cluster accepts and acknowledges a new write. A cluster that
 * refuses writes has not recovered, whatever the ledger says.
 */
export const restoreCompletedChecker: Checker = ({ final, expectations }) => {
  const probe = final?.probe;
  if (!probe) return { name: 'restore-completed', valid: expectations.restoreMustComplete ? 'unknown' : true, summary: 'no write was attempted on the recovered cluster', details: {} };
  if (probe.ok) return { name: 'restore-completed', valid: true, summary: `the recovered primary ${probe.node} acknowledged a new write in ${probe.latencyMs} ms`, details: { ...probe } };
  return {
    name: 'restore-completed',
    valid: !expectations.restoreMustComplete,
    summary: `the recovered cluster refused a new write on ${probe.node}: ${probe.error ?? 'no error text'}`,
    details: { ...probe },
  };
};
