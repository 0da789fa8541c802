import type { HistoryEvent, RoleEvent } from '../history/events.ts';
import type { Checker } from './types.ts';
import { acknowledged, writeRecords, type WriteRecord } from './writes.ts';
import { computeLossWindow } from './rpo-rto.ts';

/** A run whose cluster had its own HA manager says so in its history (the runner records it). */
export function hasManager(history: readonly HistoryEvent[]): boolean {
  return history.some((e) => e.type === 'manager' && e.what === 'watching');
}

/** How many keys a summary names before it says how many more there are. */
const NAMED = 8;

/**
 * Split brain: a write acknowledged by a server after the HA manager had promoted another one in
 * its place. The primary at each moment is the server the manager promoted last (RoleEvent), or the
 * one that acknowledged writes before any promotion; each write records the server that
 * acknowledged it. Writes acknowledged by a deposed primary are named, with how many of them the
 * final state lacks. Skipped when no HA manager ran. Under an RPO budget, a split brain whose
 * writes are all lost, and lost within the budget, holds: it is the loss the budget accepts.
 */
export const splitBrainChecker: Checker = ({ history, final, expectations }) => {
  if (!hasManager(history)) return { name: 'split-brain', valid: 'skipped', summary: 'no HA manager in this run: faultline chose the primary itself', details: {} };
  const promotions = history.filter((e): e is RoleEvent => e.type === 'role' && e.role === 'primary').sort((a, b) => a.time - b.time);
  const acked = acknowledged(writeRecords(history));
  const primaryAt = (time: number) => promotions.filter((p) => p.time <= time).at(-1);
  const deposed: WriteRecord[] = [];
  for (const write of acked) {
    const promotion = primaryAt(write.completeTime ?? write.invokeTime);
    if (promotion && write.node !== promotion.node) deposed.push(write);
  }
  const said = promotions.map((p) => `${p.by} promoted ${p.node}${p.previous === p.node ? ' again' : p.previous ? ` over ${p.previous}` : ''} at ${Math.round(p.time)} ms`).join('; ');
  if (deposed.length === 0) {
    return {
      name: 'split-brain',
      valid: true,
      summary: promotions.length === 0 ? `the HA manager promoted no server: one primary acknowledged every write` : `every write acknowledged after a promotion came from the promoted server (${said})`,
      details: { promotions: promotions.length, acknowledged: acked.length },
    };
  }
  const rows = final?.primary?.rows;
  const lost = rows ? deposed.filter((w) => rows[String(w.key)] !== w.value) : undefined;
  const byNode = new Map<string, WriteRecord[]>();
  for (const w of deposed) {
    const list = byNode.get(w.node);
    if (list) list.push(w);
    else byNode.set(w.node, [w]);
  }
  const parts = [...byNode].map(([node, writes]) => {
    const times = writes.map((w) => w.completeTime ?? w.invokeTime);
    const [first, last] = times.reduce(([lo, hi], t) => [Math.min(lo, t), Math.max(hi, t)], [Infinity, -Infinity]);
    return `${writes.length} by ${node} from ${Math.round(first)} to ${Math.round(last)} ms`;
  });
  const keys = (lost && lost.length > 0 ? lost : deposed).map((w) => w.key);
  const named = `${keys.slice(0, NAMED).join(', ')}${keys.length > NAMED ? ` and ${keys.length - NAMED} more` : ''}`;
  const fate = lost === undefined ? 'the final state could not be read to tell how many survived' : lost.length > 0 ? `${lost.length} of them are lost (keys ${named})` : `all of them survived (keys ${named})`;
  // The loss the experiment accepts (an RPO budget) accepts these writes too, when they are that
  // loss: every one of them lost, and everything lost within the budget. Still named.
  const budget = expectations.rpoBudgetMs;
  const window = budget !== undefined && lost !== undefined && lost.length === deposed.length ? computeLossWindow(history, final).ms : null;
  const accepted = budget !== undefined && window !== null && window <= budget;
  return {
    name: 'split-brain',
    valid: accepted,
    summary: `two primaries acknowledged writes at once: ${deposed.length} writes were acknowledged by a deposed primary after ${said} (${parts.join('; ')}); ${fate}${accepted ? `; within the RPO budget (${window} ms of data lost, budget ${budget} ms)` : ''}`,
    details: { promotions: promotions.length, deposed: deposed.map((w) => ({ key: w.key, node: w.node, time: w.completeTime })), lost: lost?.map((w) => w.key) ?? null },
  };
};
