import type { RecoveryEvent } from '../history/events.ts';
import type { Checker } from './types.ts';

/**
 * Restore completed: the recovered cluster accepts and acknowledges a new write. A cluster that
 * refuses writes has not recovered, whatever the ledger says.
 */
export const restoreCompletedChecker: Checker = ({ history, final, expectations }) => {
  const attempts = history.filter((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'end');
  if (attempts.length > 0 && !attempts.some((a) => a.outcome === 'ok')) {
    return {
      name: 'restore-completed',
      valid: !expectations.restoreMustComplete,
      summary: `recovery failed: ${attempts.map((a) => `${a.name}: ${a.detail ?? 'no reason given'}`).join('; ')}`,
      details: { attempts: attempts.map((a) => ({ name: a.name, outcome: a.outcome, detail: a.detail })) },
    };
  }
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
