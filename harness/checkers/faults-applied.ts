import { faultRecords, tookEffect } from './faults.ts';
import type { Checker } from './types.ts';

/**
 * Faults applied: every scheduled fault took effect. A fault skipped on this machine (the kernel
 * lacks it), one that failed to inject, or one that ran without effect (the damage was overwritten
 * before anyone read it) means the run did not test what it claims, so it cannot pass, unless the
 * schedule marked that fault `optional: true`.
 */
export const faultsAppliedChecker: Checker = ({ history }) => {
  const faults = faultRecords(history);
  if (faults.length === 0) return { name: 'faults-applied', valid: 'skipped', summary: 'no faults were scheduled', details: { faults: 0 } };
  const missed = faults.filter((f) => !tookEffect(f));
  const required = missed.filter((f) => !f.optional);
  const optional = missed.filter((f) => f.optional);
  const applied = faults.length - missed.length;
  const describe = (f: (typeof faults)[number]) => `${f.name} on ${f.target} at ${Math.round(f.start)} ms (${f.notApplied ?? 'it did not become active'})`;
  const details = {
    faults: faults.length,
    applied,
    notApplied: required.map((f) => ({ name: f.name, target: f.target, startMs: f.start, why: f.notApplied ?? 'it did not become active' })),
    optionalNotApplied: optional.map((f) => ({ name: f.name, target: f.target, startMs: f.start, why: f.notApplied ?? 'it did not become active' })),
  };
  if (required.length > 0) {
    return { name: 'faults-applied', valid: false, summary: `${required.length} of ${faults.length} faults did not take effect, so the run did not test what it claims: ${required.map(describe).join('; ')}`, details };
  }
  if (applied === 0) {
    return { name: 'faults-applied', valid: 'skipped', summary: `no fault took effect; all ${faults.length} were optional: ${optional.map(describe).join('; ')}`, details };
  }
  return {
    name: 'faults-applied',
    valid: true,
    summary: `${applied} of ${faults.length} faults took effect${optional.length ? `; optional, not applied: ${optional.map(describe).join('; ')}` : ''}`,
    details,
  };
};
