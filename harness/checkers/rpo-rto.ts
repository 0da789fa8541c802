// RPO and RTO as DESIGN.md defines them.
// RTO: from the start of the first disruptive fault to the first write acknowledged by the
//   recovered cluster: after the fault was in effect and, when the run had a recovery step, after
//   recovery began, on the node that is primary at the end. A write blocked by the fault and
//   acknowledged once it is healed counts: that is the moment service came back.
// RPO: the lost writes, and the window they span: from the acknowledgement of the earliest lost
//   write to the last acknowledgement before recovery began (or before the final read).

import type { FaultEvent, HistoryEvent, Millis, RecoveryEvent } from '../history/events.ts';
import { acknowledged, lostWrites, writeRecords } from './writes.ts';
import type { Checker, FinalState } from './types.ts';

export interface Rto {
  /** null when no disruptive fault happened, or no write was acknowledged after it. */
  ms: Millis | null;
  faultStart: Millis | null;
  firstAckAfter: Millis | null;
}

export interface Rpo {
  /** null when the final state could not be read. */
  writes: number | null;
  ms: Millis | null;
}

export function computeRto(history: readonly HistoryEvent[], final: FinalState | null): Rto {
  const fault = history.find((e): e is FaultEvent => e.type === 'fault' && e.phase === 'start' && e.disruptive === true);
  if (!fault) return { ms: null, faultStart: null, firstAckAfter: null };
  // Acknowledgements count from the moment the fault was in effect: injecting takes a little
  // while, and writes acknowledged meanwhile say nothing about recovery.
  const active = history.find((e): e is FaultEvent => e.type === 'fault' && e.phase === 'active' && e.name === fault.name && e.target === fault.target && e.time >= fault.time);
  const effective = active?.time ?? fault.time;
  const recovery = history.find((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'start' && e.time >= fault.time);
  const finalPrimary = final?.primary?.node;
  const candidates = acknowledged(writeRecords(history)).filter((w) => {
    if (w.completeTime === undefined || w.completeTime <= effective) return false;
    if (recovery) return w.completeTime >= recovery.time && (!finalPrimary || w.node === finalPrimary);
    return true;
  });
  let first = Math.min(...candidates.map((w) => w.completeTime!));
  if (final?.probe?.ok && final.probe.time >= fault.time) first = Math.min(first, final.probe.time);
  if (!Number.isFinite(first)) return { ms: null, faultStart: fault.time, firstAckAfter: null };
  return { ms: Math.round(first - fault.time), faultStart: fault.time, firstAckAfter: first };
}

export function computeRpo(history: readonly HistoryEvent[], final: FinalState | null): Rpo {
  const rows = final?.primary?.rows;
  if (!rows) return { writes: null, ms: null };
  const writes = writeRecords(history);
  const lost = lostWrites(writes, rows);
  if (lost.length === 0) return { writes: 0, ms: 0 };
  const recovery = history.find((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'start');
  const end = recovery?.time ?? final?.time ?? Infinity;
  const ackTimes = acknowledged(writes)
    .map((w) => w.completeTime!)
    .filter((t) => t <= end);
  const lastAck = Math.max(...ackTimes);
  const earliestLost = lost[0]!.completeTime!;
  return { writes: lost.length, ms: Math.max(0, Math.round(lastAck - earliestLost)) };
}

/** RTO within the experiment's budget, and a write acknowledged again after a disruptive fault. */
export const rtoChecker: Checker = ({ history, final, expectations }) => {
  const rto = computeRto(history, final);
  const details = { ...rto, budgetMs: expectations.rtoBudgetMs ?? null };
  if (rto.faultStart === null) return { name: 'rto', valid: true, summary: 'no disruptive fault: nothing to recover from', details };
  if (rto.ms === null) {
    return { name: 'rto', valid: false, summary: 'no write was acknowledged after the first disruptive fault: the cluster never recovered', details };
  }
  const valid = expectations.rtoBudgetMs === undefined || rto.ms <= expectations.rtoBudgetMs;
  const budget = expectations.rtoBudgetMs === undefined ? '' : ` (budget ${expectations.rtoBudgetMs} ms)`;
  return { name: 'rto', valid, summary: `writes were acknowledged again ${rto.ms} ms after the first disruptive fault${budget}`, details };
};

/** RPO: lost writes and the time window they span, within the experiment's budget if it has one. */
export const rpoChecker: Checker = ({ history, final, expectations }) => {
  const rpo = computeRpo(history, final);
  const details = { ...rpo, budgetMs: expectations.rpoBudgetMs ?? null };
  if (rpo.writes === null) return { name: 'rpo', valid: 'unknown', summary: 'the final state could not be read', details };
  const valid = expectations.rpoBudgetMs === undefined || (rpo.ms ?? 0) <= expectations.rpoBudgetMs;
  return {
    name: 'rpo',
    valid,
    summary: rpo.writes === 0 ? 'RPO zero: no acknowledged write lost' : `RPO ${rpo.writes} writes over ${rpo.ms} ms`,
    details,
  };
};
