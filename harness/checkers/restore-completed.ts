import { isRecoveryAction, type RecoveryEvent } from '../history/events.ts';
import type { Checker } from './types.ts';

/**
 * Restore completed: recovery (when attempted) worked, and the recovered cluster accepts a new
 * write into the ledger and serves it back through the ledger's index. A cluster that refuses
 * writes has not recovered, whatever the ledger says. Where the experiment does not require the
 * restore to complete, a failure is reported but skipped, never counted as a pass.
 */
export const restoreCompletedChecker: Checker = ({ history, final, expectations }) => {
  const attempts = history.filter((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'end' && isRecoveryAction(e));
  const notRequired = (summary: string, details: Record<string, unknown>) => ({
    name: 'restore-completed',
    valid: 'skipped' as const,
    summary: `${summary} (the experiment does not require the restore to complete)`,
    details,
  });
  // Every recovery action tried and how it ended, whatever the verdict: the evidence of what brought
  // the cluster back (a failover, a restore, a runbook) for whoever explains the run.
  const recoveries = attempts.map((a) => ({ name: a.name, outcome: a.outcome, detail: a.detail }));
  if (attempts.length > 0 && !attempts.some((a) => a.outcome === 'ok')) {
    const summary = `recovery failed: ${attempts.map((a) => `${a.name}: ${a.detail ?? 'no reason given'}`).join('; ')}`;
    const details = { attempts: recoveries, recoveries };
    return expectations.restoreMustComplete ? { name: 'restore-completed', valid: false, summary, details } : notRequired(summary, details);
  }
  const probe = final?.probe;
  if (!probe) return { name: 'restore-completed', valid: 'unknown', summary: 'no write was attempted on the recovered cluster', details: { recoveries } };
  if (probe.ok) return { name: 'restore-completed', valid: true, summary: `the recovered primary ${probe.node} acknowledged a new ledger write in ${probe.latencyMs} ms and served it back ${probe.via ?? "through the ledger's index"}`, details: { ...probe, recoveries } };
  const summary = `the recovered cluster did not take and serve a new write on ${probe.node}: ${probe.error ?? 'no error text'}`;
  return expectations.restoreMustComplete ? { name: 'restore-completed', valid: false, summary, details: { ...probe, recoveries } } : notRequired(summary, { ...probe, recoveries });
};
