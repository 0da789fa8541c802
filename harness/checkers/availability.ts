import type { RunEvent } from '../history/events.ts';
import type { Checker } from './types.ts';

/**
 * Availability: every phase of the run ended within its bound. A phase past its bound whose
 * servers showed they had stopped serving (a commit waiting for a synchronous standby that never
 * comes, a backend stuck on a lock or on I/O) is a finding about the system under test: false, with
 * what the phase waited for, what was last seen and the servers' own words. A phase past its bound
 * with no such evidence cannot be blamed on the system: unknown (the run is broken as well).
 * The checker runs only where a phase stalled; elsewhere the phases' ends are the evidence.
 */
export const availabilityChecker: Checker = ({ history }) => {
  const stalls = history.filter((e): e is RunEvent => e.type === 'run' && e.phase === 'stalled');
  if (stalls.length === 0) return { name: 'availability', valid: true, summary: 'every phase ended within its bound', details: {} };
  const details = {
    stalls: stalls.map((s) => ({ phase: s.deadline, boundMs: s.boundMs, awaited: s.awaited, lastSeen: s.lastSeen, evidence: s.evidence ?? [] })),
  };
  const shown = stalls.find((s) => (s.evidence ?? []).length > 0);
  if (shown) {
    return {
      name: 'availability',
      valid: false,
      summary: `the system under test stopped serving: ${shown.name ?? `${shown.deadline} passed its bound`}; the servers showed: ${shown.evidence!.join('; ')}`,
      details,
    };
  }
  const first = stalls[0]!;
  return {
    name: 'availability',
    valid: 'unknown',
    summary: `${first.name ?? `${first.deadline} passed its bound`}, and nothing the servers showed says the system under test had stopped serving`,
    details,
  };
};
