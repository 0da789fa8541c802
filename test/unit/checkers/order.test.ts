// The order check: appends held by the primary's list in an order consistent with real time, each once.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultExpectations, orderChecker, runCheckers } from '../../../harness/checkers/index.ts';
import type { HistoryEvent } from '../../../harness/history/events.ts';
import type { FinalState } from '../../../harness/checkers/types.ts';
import { finalOf } from './synthetic.ts';

const expectations = defaultExpectations;

interface Append {
  key: number;
  invoke: number;
  /** The ok time; null for an indeterminate append (info). */
  ok: number | null;
}

function historyOf(appends: Append[]): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (const a of appends) {
    const base = { process: a.key, f: 'append' as const, key: a.key, value: `v${a.key}`, node: 'redis-1' };
    events.push({ ...base, type: 'invoke', time: a.invoke });
    events.push(a.ok === null ? { ...base, type: 'info', time: a.invoke + 10_000, error: 'timeout' } : { ...base, type: 'ok', time: a.ok });
  }
  return events.sort((a, b) => a.time - b.time);
}

function finalWith(sequence: number[] | undefined): FinalState {
  const final = finalOf([], Object.fromEntries(sequence?.map((k) => [String(k), `v${k}`]) ?? []));
  return { ...final, primary: { ...final.primary!, node: 'redis-1', ...(sequence ? { sequence } : {}) } };
}

const check = (appends: Append[], sequence: number[] | undefined, final = finalWith(sequence)) => orderChecker({ history: historyOf(appends), final, expectations });

// 1: [0, 10]; 2: [5, 15] (overlaps 1); 3: [20, 30] (after both).
const three: Append[] = [
  { key: 1, invoke: 0, ok: 10 },
  { key: 2, invoke: 5, ok: 15 },
  { key: 3, invoke: 20, ok: 30 },
];

describe('order checker', () => {
  it('passes appends held in acknowledgement order, and concurrent ones in either order', () => {
    const result = check(three, [1, 2, 3]);
    expect(result.valid).toBe(true);
    expect(result.summary).toBe('the 3 appends held by the primary are in acknowledgement order');
    expect(check(three, [2, 1, 3]).valid).toBe(true);
    expect(check(three, [1, 3]).valid).toBe(true); // a missing one is lost-writes' business
  });

  it('fails one reordering, naming the pair', () => {
    const result = check(three, [3, 1, 2]);
    expect(result.valid).toBe(false);
    expect(result.details).toMatchObject({ reordered: 1, duplicates: 0 });
    expect(result.details.examples).toEqual([{ key: 3, position: 0, invokedMs: 20, before: { key: 1, position: 1, ackedMs: 10 } }]);
    expect(result.summary).toBe(
      '1 of the 3 appends held by the primary comes before an append acknowledged before it was invoked (e.g. key 3 at position 0, invoked at 20 ms, is ahead of key 1 at position 1, acknowledged at 10 ms)',
    );
  });

  it('lets an indeterminate append sit anywhere after its invocation', () => {
    // 4 invoked at 16 (after 1 and 2 were acknowledged), never acknowledged: anywhere after them.
    const withInfo: Append[] = [...three, { key: 4, invoke: 16, ok: null }];
    for (const sequence of [[1, 2, 4, 3], [1, 2, 3, 4], [2, 1, 4, 3]]) expect(check(withInfo, sequence).valid).toBe(true);
    // ...but not ahead of an append acknowledged before it was invoked.
    expect(check(withInfo, [4, 1, 2, 3]).details).toMatchObject({ reordered: 1, examples: [{ key: 4, before: { key: 1 } }] });
    expect(check(withInfo, [1, 4, 2, 3]).details).toMatchObject({ reordered: 1, examples: [{ key: 4, before: { key: 2 } }] });
  });

  it('fails a key the list holds twice', () => {
    const result = check(three, [1, 2, 2, 3]);
    expect(result.valid).toBe(false);
    expect(result.details).toMatchObject({ reordered: 0, duplicates: 1, duplicateKeys: [{ key: 2, positions: [1, 2] }] });
    expect(result.summary).toBe('1 key appears more than once in the list (e.g. key 2 at positions 1, 2)');
  });

  it('is skipped without appends or without a sequence, saying which', () => {
    const writes: HistoryEvent[] = [
      { type: 'invoke', process: 1, f: 'write', key: 1, value: 'v1', node: 'redis-1', time: 0 },
      { type: 'ok', process: 1, f: 'write', key: 1, value: 'v1', node: 'redis-1', time: 1 },
    ];
    const none = orderChecker({ history: writes, final: finalWith([1]), expectations });
    expect(none.valid).toBe('skipped');
    expect(none.summary).toContain('no append operations');
    const noSequence = check(three, undefined, finalWith(undefined));
    expect(noSequence.valid).toBe('skipped');
    expect(noSequence.summary).toContain('no sequence');
  });

  it('is unknown when the primary could not be read', () => {
    const unreadable = { ...finalWith([1]), primary: { node: 'redis-1', error: 'connection refused' } };
    const result = check(three, undefined, unreadable);
    expect(result.valid).toBe('unknown');
    expect(result.summary).toContain('connection refused');
    expect(check(three, undefined, { ...unreadable, primary: null }).valid).toBe('unknown');
    expect(orderChecker({ history: historyOf(three), final: null, expectations }).valid).toBe('unknown');
  });

  it('runs only where the history has appends', () => {
    expect(runCheckers({ history: historyOf(three), final: finalWith([1, 2, 3]), expectations }).find((c) => c.name === 'order')?.valid).toBe(true);
  });
});

describe('order checker (properties)', () => {
  const appendsArbitrary = fc
    .array(fc.record({ invoke: fc.integer({ min: 0, max: 10_000 }), duration: fc.integer({ min: 1, max: 300 }), acked: fc.integer({ min: 0, max: 4 }).map((n) => n > 0) }), { minLength: 2, maxLength: 150 })
    .map((xs) => xs.map((x, i): Append => ({ key: i + 1, invoke: x.invoke, ok: x.acked ? x.invoke + x.duration : null })));

  /** Acknowledged appends by ok time, then the indeterminate ones (ok time +infinity). */
  const byAck = (appends: Append[]) => [...appends].sort((a, b) => (a.ok ?? Infinity) - (b.ok ?? Infinity)).map((a) => a.key);

  it('passes any list sorted by acknowledgement time', () => {
    fc.assert(
      fc.property(appendsArbitrary, (appends) => {
        expect(check(appends, byAck(appends)).valid).toBe(true);
      }),
    );
  });

  it('fails when two non-overlapping acknowledged appends are swapped', () => {
    fc.assert(
      fc.property(appendsArbitrary, fc.nat(), fc.nat(), (appends, i, j) => {
        const acked = appends.filter((a) => a.ok !== null);
        fc.pre(acked.length >= 2);
        const a = acked[i % acked.length]!;
        const b = acked[j % acked.length]!;
        fc.pre(a.ok! < b.invoke); // a acknowledged before b was invoked
        const sequence = byAck(appends);
        const [pa, pb] = [sequence.indexOf(a.key), sequence.indexOf(b.key)];
        [sequence[pa], sequence[pb]] = [b.key, a.key];
        const result = check(appends, sequence);
        expect(result.valid).toBe(false);
        expect(result.details.reordered as number).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});
