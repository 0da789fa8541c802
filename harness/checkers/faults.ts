// The faults of a run as the history tells them: one record per fault with its phases paired, and
// whether it took effect. RTO counts from the first disruptive fault that did; faults-applied fails
// a run whose faults did not all happen.

import type { FaultEvent, HistoryEvent, Millis } from '../history/events.ts';

export interface FaultRecord {
  name: string;
  target: string;
  disruptive: boolean;
  optional: boolean;
  start: Millis;
  /** When injection returned: the fault was in effect from here. */
  active?: Millis;
  end?: Millis;
  detail?: string;
  /** Why it did not take effect: skipped on this machine, failed to inject, or no effect. */
  notApplied?: string;
}

/** Pairs each fault's start with its active and end phases (by id, or name and target in older histories). */
export function faultRecords(history: readonly HistoryEvent[]): FaultRecord[] {
  const faults = history.filter((e): e is FaultEvent => e.type === 'fault');
  const used = new Set<FaultEvent>();
  return faults
    .filter((e) => e.phase === 'start')
    .map((start) => {
      const phase = (name: 'active' | 'end') => {
        const match = faults.find(
          (e) => e.phase === name && !used.has(e) && e.time >= start.time && (start.id !== undefined ? e.id === start.id : e.name === start.name && e.target === start.target),
        );
        if (match) used.add(match);
        return match;
      };
      const active = phase('active');
      const end = phase('end');
      const notApplied = end?.skipped
        ? `skipped: ${end.skipped}`
        : end?.failed
          ? `failed: ${end.failed}`
          : (active?.noEffect ?? end?.noEffect)
            ? `no effect: ${active?.noEffect ?? end?.noEffect}`
            : !active && end
              ? 'it ended without taking effect'
              : undefined;
      return {
        name: start.name,
        target: start.target,
        disruptive: start.disruptive === true,
        optional: start.optional === true,
        start: start.time,
        ...(active ? { active: active.time } : {}),
        ...(end ? { end: end.time } : {}),
        ...(end?.detail ?? active?.detail ? { detail: end?.detail ?? active?.detail } : {}),
        ...(notApplied ? { notApplied } : {}),
      };
    });
}

/** Whether a fault took effect: it became active and nothing says it was skipped, failed or had no effect. */
export function tookEffect(fault: FaultRecord): boolean {
  return fault.active !== undefined && fault.notApplied === undefined;
}
