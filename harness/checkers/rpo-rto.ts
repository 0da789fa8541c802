// RPO and RTO as docs/architecture.md defines them.
// RTO: from the start of the first disruptive fault that took effect to the first write
//   acknowledged by the recovered cluster: after the fault was in effect and, when recovery began
//   after the fault, after recovery began and on the node that is primary at the end. A write
//   blocked by the fault and acknowledged once it is healed counts: service came back then. Each
//   disruptive fault that took effect gives an outage window the same way; RTO is the first.
//   A fault whose outage begins later (a leader that demotes itself once it cannot renew its lock)
//   leaves the RTO short: the longest stretch without an acknowledged write after service came
//   back is reported beside it when it is longer, and at least a second.
// RPO: the lost writes, and the window they span: from the acknowledgement of the earliest lost
//   write to that of the latest. An RPO budget judges the data lost as time: from the recovery
//   point (the last write that survived before the earliest lost one) to the latest lost write,
//   so that one lost write, whose own span is 0 ms, is never within any budget for that alone.
// Without a budget, both are measures: reported, never a pass.

import { isRecoveryAction, type HistoryEvent, type Millis, type RecoveryEvent } from '../history/events.ts';
import { faultRecords, tookEffect } from './faults.ts';
import { acknowledged, lostWrites, writeRecords, type WriteRecord } from './writes.ts';
import type { Checker, FinalState } from './types.ts';

export interface Outage {
  fault: string;
  target: string;
  startMs: Millis;
  /** The first acknowledgement that counts as service back; null when none came. */
  backMs: Millis | null;
  ms: Millis | null;
}

export interface Rto {
  /** null when no disruptive fault took effect, or no write was acknowledged after it. */
  ms: Millis | null;
  faultStart: Millis | null;
  firstAckAfter: Millis | null;
  /** One window per disruptive fault that took effect, in order. */
  outages: Outage[];
  /** The longest stretch between two acknowledgements after service came back, when longer than the RTO and at least LATER_OUTAGE_MIN_MS; null otherwise. */
  later: { ms: Millis; fromMs: Millis; toMs: Millis } | null;
}

/** A later stretch without acknowledged writes shorter than this is not reported (a pause, not an outage). */
export const LATER_OUTAGE_MIN_MS = 1000;

/** The longest stretch between consecutive acknowledgements after `back`, if longer than `rto` and LATER_OUTAGE_MIN_MS. */
function laterOutage(acks: readonly WriteRecord[], back: Millis, rto: Millis): Rto['later'] {
  const times = acks.map((w) => w.completeTime).filter((t): t is Millis => t !== undefined && t >= back).sort((a, b) => a - b);
  let longest: Rto['later'] = null;
  for (let i = 1; i < times.length; i++) {
    const ms = Math.round(times[i]! - times[i - 1]!);
    if (ms > rto && ms >= LATER_OUTAGE_MIN_MS && (longest === null || ms > longest.ms)) longest = { ms, fromMs: times[i - 1]!, toMs: times[i]! };
  }
  return longest;
}

export interface Rpo {
  /** null when the final state could not be read. */
  writes: number | null;
  ms: Millis | null;
}

function serviceBack(history: readonly HistoryEvent[], final: FinalState | null, acks: readonly WriteRecord[], start: Millis, effective: Millis): Millis | null {
  const recovery = history.find((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'start' && isRecoveryAction(e) && e.time >= start);
  const finalPrimary = final?.primary?.node;
  let first = Infinity;
  for (const w of acks) {
    const t = w.completeTime;
    // A write sent before the fault began and answered after it took effect was in flight: it shows
    // nothing about whether service came back (a Redis write whose WAIT the crash cut short is one).
    if (t === undefined || t <= effective || t >= first || w.invokeTime < start) continue;
    if (recovery && (t < recovery.time || (finalPrimary && w.node !== finalPrimary))) continue;
    first = t;
  }
  if (final?.probe?.ok && final.probe.time >= start) first = Math.min(first, final.probe.time);
  return Number.isFinite(first) ? first : null;
}

export function computeRto(history: readonly HistoryEvent[], final: FinalState | null): Rto {
  const disruptive = faultRecords(history).filter((f) => f.disruptive && tookEffect(f));
  if (disruptive.length === 0) return { ms: null, faultStart: null, firstAckAfter: null, outages: [], later: null };
  const acks = acknowledged(writeRecords(history));
  // Acknowledgements count from the moment the fault was in effect: injecting takes a little
  // while, and writes acknowledged meanwhile say nothing about recovery.
  const outages = disruptive.map((fault): Outage => {
    const back = serviceBack(history, final, acks, fault.start, fault.active ?? fault.start);
    return { fault: fault.name, target: fault.target, startMs: fault.start, backMs: back, ms: back === null ? null : Math.round(back - fault.start) };
  });
  const first = outages[0]!;
  const later = first.backMs === null ? null : laterOutage(acks, first.backMs, first.ms!);
  return { ms: first.ms, faultStart: first.startMs, firstAckAfter: first.backMs, outages, later };
}

export function computeRpo(history: readonly HistoryEvent[], final: FinalState | null): Rpo {
  const rows = final?.primary?.rows;
  if (!rows) return { writes: null, ms: null };
  const lost = lostWrites(writeRecords(history), rows);
  if (lost.length === 0) return { writes: 0, ms: 0 };
  return { writes: lost.length, ms: Math.max(0, Math.round(lost.at(-1)!.completeTime! - lost[0]!.completeTime!)) };
}

export interface LossWindow {
  /** null when nothing was lost (or the final state could not be read). */
  ms: Millis | null;
  /** Where the window starts, and what marks it. */
  fromMs: Millis | null;
  from: 'the last write that survived before them' | 'the invocation of the earliest lost write' | null;
  /** The acknowledgement of the latest lost write. */
  toMs: Millis | null;
}

/**
 * The time an RPO budget judges: from the recovery point (the acknowledgement of the last write
 * that survived and was acknowledged before the earliest lost one; without one, the invocation of
 * the earliest lost write, since its data was never safe after that) to the acknowledgement of the
 * latest lost write. Rounded up: a write lost is never a 0 ms loss.
 */
export function computeLossWindow(history: readonly HistoryEvent[], final: FinalState | null): LossWindow {
  const rows = final?.primary?.rows;
  const none: LossWindow = { ms: null, fromMs: null, from: null, toMs: null };
  if (!rows) return none;
  const writes = writeRecords(history);
  const lost = lostWrites(writes, rows);
  if (lost.length === 0) return none;
  const earliest = lost[0]!;
  const toMs = lost.at(-1)!.completeTime!;
  let survivor: Millis | null = null;
  for (const w of acknowledged(writes)) {
    const t = w.completeTime!;
    if (t < earliest.completeTime! && rows[String(w.key)] === w.value && (survivor === null || t > survivor)) survivor = t;
  }
  const fromMs = survivor ?? earliest.invokeTime;
  return { ms: Math.max(1, Math.ceil(toMs - fromMs)), fromMs, from: survivor !== null ? 'the last write that survived before them' : 'the invocation of the earliest lost write', toMs };
}

/** RTO within the experiment's budget; without a budget, a measure. Fails when service never came back. */
export const rtoChecker: Checker = ({ history, final, expectations }) => {
  const rto = computeRto(history, final);
  const budget = expectations.rtoBudgetMs;
  const details = { ...rto, budgetMs: budget ?? null };
  if (rto.faultStart === null) return { name: 'rto', valid: 'skipped', summary: 'no disruptive fault took effect: nothing to recover from', details };
  if (rto.ms === null) {
    return { name: 'rto', valid: false, summary: 'no write was acknowledged after the first disruptive fault: the cluster never recovered', details };
  }
  const later = rto.later ? `; later no write was acknowledged for ${rto.later.ms} ms (from ${Math.round(rto.later.fromMs)} to ${Math.round(rto.later.toMs)} ms), longer than that` : '';
  const measured = `writes were acknowledged again ${rto.ms} ms after the first disruptive fault${later}`;
  if (budget === undefined) return { name: 'rto', valid: 'skipped', summary: `${measured} (a measure: the experiment sets no RTO budget)`, details };
  return { name: 'rto', valid: rto.ms <= budget, summary: `${measured} (budget ${budget} ms)`, details };
};

/**
 * RPO within the experiment's budget; without a budget, a measure (lost-writes judges the loss).
 * The budget judges the loss window (computeLossWindow), never the lost writes' own span alone,
 * which is 0 ms for a single lost write.
 */
export const rpoChecker: Checker = ({ history, final, expectations }) => {
  const rpo = computeRpo(history, final);
  const window = computeLossWindow(history, final);
  const budget = expectations.rpoBudgetMs;
  const details = { ...rpo, lossWindow: window, budgetMs: budget ?? null };
  if (rpo.writes === null) return { name: 'rpo', valid: 'unknown', summary: 'the final state could not be read', details };
  if (rpo.writes === 0) {
    const measured = 'RPO zero: no acknowledged write lost';
    if (budget === undefined) return { name: 'rpo', valid: 'skipped', summary: `${measured} (a measure: the experiment sets no RPO budget)`, details };
    // Nothing lost is within any budget only where something was acknowledged to lose.
    if (acknowledged(writeRecords(history)).length === 0) return { name: 'rpo', valid: 'unknown', summary: `no write was acknowledged, so the RPO was not measured (budget ${budget} ms)`, details };
    return { name: 'rpo', valid: true, summary: `${measured} (budget ${budget} ms)`, details };
  }
  const measured = `RPO ${rpo.writes} writes over ${rpo.ms} ms`;
  if (budget === undefined) return { name: 'rpo', valid: 'skipped', summary: `${measured} (a measure: the experiment sets no RPO budget)`, details };
  return { name: 'rpo', valid: window.ms! <= budget, summary: `${measured}: ${window.ms} ms of data lost, counted from ${window.from} (budget ${budget} ms)`, details };
};
