// Histories as a real workload makes them: many client processes whose writes overlap in time, a
// process retiring after an indeterminate result, values changed in the final state.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anomaliesChecker, defaultExpectations, lostWritesChecker, writeRecords } from '../../../harness/checkers/index.ts';
import type { HistoryEvent, OpType } from '../../../harness/history/events.ts';
import { finalOf } from './synthetic.ts';

interface Op {
  client: number;
  outcome: Exclude<OpType, 'invoke'> | 'pending';
}

/** What the final state holds for a write: its value, nothing, or another value. */
type Held = 'written' | 'absent' | 'changed';

/**
 * Interleaves the ops of several clients: each client invokes, then completes, one op at a time;
 * the clients' steps are shuffled together by `order`. An indeterminate op retires its process.
 */
function interleave(ops: Op[], order: number[]): HistoryEvent[] {
  const queues = new Map<number, Op[]>();
  ops.forEach((op) => queues.set(op.client, [...(queues.get(op.client) ?? []), op]));
  const process = new Map<number, number>([...queues.keys()].map((c) => [c, c]));
  const open = new Map<number, { key: number; op: Op }>();
  const events: HistoryEvent[] = [];
  let time = 0;
  let key = 1;
  let nextProcess = 1000;
  for (const pick of order) {
    const clients = [...queues.keys()].filter((c) => (queues.get(c)?.length ?? 0) > 0 || open.has(c));
    if (clients.length === 0) break;
    const client = clients[pick % clients.length]!;
    const pending = open.get(client);
    const p = process.get(client)!;
    if (!pending) {
      const op = queues.get(client)!.shift()!;
      const k = key++;
      events.push({ type: 'invoke', process: p, f: 'write', key: k, value: `v${k}.p${p}`, node: 'pg-primary', time: time++ });
      open.set(client, { key: k, op });
    } else {
      open.delete(client);
      if (pending.op.outcome === 'pending') continue;
      events.push({ type: pending.op.outcome, process: p, f: 'write', key: pending.key, value: `v${pending.key}.p${p}`, node: 'pg-primary', time: time++ });
      if (pending.op.outcome === 'info') process.set(client, nextProcess++);
    }
  }
  return events;
}

const opArbitrary = fc.record({
  client: fc.integer({ min: 0, max: 7 }),
  outcome: fc.constantFrom<Op['outcome']>('ok', 'ok', 'ok', 'fail', 'info', 'pending'),
});
const heldArbitrary = fc.infiniteStream(fc.constantFrom<Held>('written', 'written', 'absent', 'changed'));

describe('checkers on concurrent, overlapping writes from many processes', () => {
  it('lost writes are exactly the acknowledged writes whose value is not in the final state', () => {
    fc.assert(
      fc.property(fc.array(opArbitrary, { minLength: 1, maxLength: 80 }), fc.array(fc.nat(), { minLength: 400, maxLength: 400 }), heldArbitrary, (ops, order, held) => {
        const history = interleave(ops, order);
        const records = writeRecords(history);
        const rows: Record<string, string> = {};
        for (const r of records.values()) {
          const what = held.next().value;
          if (what === 'written') rows[String(r.key)] = r.value;
          if (what === 'changed') rows[String(r.key)] = `${r.value}-changed`;
        }
        const final = finalOf([], rows);
        const expectedLost = [...records.values()].filter((r) => r.outcome === 'ok' && rows[String(r.key)] !== r.value).length;
        const result = lostWritesChecker({ history, final, expectations: defaultExpectations });
        expect(result.details.lost).toBe(expectedLost);
        // Nothing acknowledged shows nothing: unknown, never a pass.
        const acknowledged = [...records.values()].some((r) => r.outcome === 'ok');
        expect(result.valid).toBe(acknowledged ? expectedLost === 0 : 'unknown');
        // Anomalies: a value that no write explains (a failed write present, or a changed value of a write that was not acknowledged).
        const expectedAnomalies = [...records.values()].filter((r) => {
          const v = rows[String(r.key)];
          if (v === undefined) return false;
          if (r.outcome === 'fail') return true;
          return v !== r.value && r.outcome !== 'ok';
        }).length;
        expect(anomaliesChecker({ history, final, expectations: defaultExpectations }).details.anomalies).toBe(expectedAnomalies);
      }),
    );
  });

  it('pairs each completion with its own invocation, whatever the interleaving', () => {
    fc.assert(
      fc.property(fc.array(opArbitrary, { minLength: 1, maxLength: 80 }), fc.array(fc.nat(), { minLength: 400, maxLength: 400 }), (ops, order) => {
        const history = interleave(ops, order);
        const records = writeRecords(history);
        const completions = history.filter((e) => e.type === 'ok' || e.type === 'fail' || e.type === 'info');
        expect([...records.values()].filter((r) => r.outcome !== 'pending')).toHaveLength(completions.length);
        for (const c of completions) expect(records.get((c as { key: number }).key)!.outcome).toBe(c.type);
      }),
    );
  });
});
