import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  anomaliesChecker,
  composeValidity,
  computeRpo,
  computeRto,
  defaultExpectations,
  indeterminateChecker,
  integrityChecker,
  lostWritesChecker,
  replicaParityChecker,
  restoreCompletedChecker,
  rtoChecker,
  runCheckers,
} from '../../../harness/checkers/index.ts';
import type { HistoryEvent } from '../../../harness/history/events.ts';
import { finalOf, historyOf, writesArbitrary, type SyntheticWrite } from './synthetic.ts';

const expectations = defaultExpectations;

describe('lost-writes checker (properties)', () => {
  it('never reports a loss when the final state holds every acknowledged write', () => {
    fc.assert(
      fc.property(writesArbitrary, (writes) => {
        const result = lostWritesChecker({ history: historyOf(writes), final: finalOf(writes), expectations });
        // With nothing acknowledged nothing was shown: unknown, never a pass.
        expect(result.valid).toBe(writes.some((w) => w.outcome === 'ok') ? true : 'unknown');
        expect(result.details.lost).toBe(0);
      }),
    );
  });

  it('reports exactly the acknowledged writes removed from the final state', () => {
    fc.assert(
      fc.property(
        writesArbitrary.filter((ws) => ws.some((w) => w.outcome === 'ok')),
        fc.infiniteStream(fc.boolean()),
        (writes, coin) => {
          const acked = writes.filter((w) => w.outcome === 'ok');
          let removed = acked.filter(() => coin.next().value);
          if (removed.length === 0) removed = [acked[0]!];
          const final = finalOf(writes);
          for (const w of removed) delete final.primary!.rows![String(w.key)];
          const result = lostWritesChecker({ history: historyOf(writes), final, expectations });
          expect(result.valid).toBe(false);
          expect(result.details.lost).toBe(removed.length);
          const reported = (result.details.firstLost as Array<{ key: number }>).map((l) => l.key).sort((a, b) => a - b);
          expect(reported).toEqual(removed.map((w) => w.key).slice(0, 20).sort((a, b) => a - b));
        },
      ),
    );
  });

  it('is never swayed by indeterminate writes, present or absent', () => {
    fc.assert(
      fc.property(writesArbitrary, fc.infiniteStream(fc.boolean()), (writes, coin) => {
        const flipped: SyntheticWrite[] = writes.map((w) => ({ ...w, applied: coin.next().value }));
        const a = lostWritesChecker({ history: historyOf(writes), final: finalOf(writes), expectations });
        const b = lostWritesChecker({ history: historyOf(flipped), final: finalOf(flipped), expectations });
        expect(b.valid).toBe(a.valid);
        expect(b.details.lost).toBe(a.details.lost);
        expect(anomaliesChecker({ history: historyOf(flipped), final: finalOf(flipped), expectations }).valid).toBe(true);
      }),
    );
  });
});

describe('lost-writes checker (examples)', () => {
  const writes: SyntheticWrite[] = [
    { key: 1, outcome: 'ok', applied: true },
    { key: 2, outcome: 'ok', applied: true },
    { key: 3, outcome: 'ok', applied: true },
  ];

  it('counts an acknowledged write whose value was replaced as lost', () => {
    const final = finalOf(writes);
    final.primary!.rows!['2'] = 'garbage';
    const result = lostWritesChecker({ history: historyOf(writes), final, expectations });
    expect(result.details.lost).toBe(1);
    expect(result.summary).toBe('1 of 3 acknowledged writes are missing from the final state');
  });

  it('tolerates as many lost writes as the experiment allows', () => {
    const final = finalOf(writes);
    delete final.primary!.rows!['3'];
    expect(lostWritesChecker({ history: historyOf(writes), final, expectations: { ...expectations, maxLostWrites: 1 } }).valid).toBe(true);
  });

  it('is unknown, never a pass, without a final read', () => {
    expect(lostWritesChecker({ history: historyOf(writes), final: null, expectations }).valid).toBe('unknown');
    const unreadable = { ...finalOf(writes), primary: { node: 'pg-primary', error: 'connection refused' } };
    const result = lostWritesChecker({ history: historyOf(writes), final: unreadable, expectations });
    expect(result.valid).toBe('unknown');
    expect(result.summary).toContain('connection refused');
  });
});

describe('anomalies checker', () => {
  const writes: SyntheticWrite[] = [
    { key: 1, outcome: 'ok', applied: true },
    { key: 2, outcome: 'fail', applied: false },
  ];

  it('flags a value whose write definitely failed', () => {
    const final = finalOf(writes, { '1': 'v1', '2': 'v2' });
    const result = anomaliesChecker({ history: historyOf(writes), final, expectations });
    expect(result.valid).toBe(false);
    expect(result.details.first).toEqual([{ key: '2', value: 'v2', reason: 'its write definitely failed (boom)' }]);
  });

  it('flags a key no client ever wrote', () => {
    const final = finalOf(writes, { '1': 'v1', '99': 'v99' });
    expect(anomaliesChecker({ history: historyOf(writes), final, expectations }).details.anomalies).toBe(1);
  });

  it('accepts a final state that only holds what was written', () => {
    expect(anomaliesChecker({ history: historyOf(writes), final: finalOf(writes), expectations }).valid).toBe(true);
  });
});

describe('indeterminate-writes checker', () => {
  it('counts indeterminate and never-completed writes, and how many survived', () => {
    const writes: SyntheticWrite[] = [
      { key: 1, outcome: 'info', applied: true },
      { key: 2, outcome: 'info', applied: false },
      { key: 3, outcome: 'pending', applied: true },
      { key: 4, outcome: 'ok', applied: true },
    ];
    const result = indeterminateChecker({ history: historyOf(writes), final: finalOf(writes), expectations });
    expect(result.details).toMatchObject({ indeterminate: 3, pending: 1, survived: 2 });
    expect(result.summary).toBe('3 indeterminate writes, 2 of them survived (counted, not judged)');
    expect(result.valid).toBe('skipped'); // a count, not evidence either way
  });
});

describe('RPO and RTO', () => {
  // Writes 1..3 acknowledged at t=1,3,5; a disruptive fault at t=10; recovery 20..30; write 4 on the
  // new primary acknowledged at t=35 (pg-replica). Write 3 is lost by the failover.
  const history: HistoryEvent[] = [
    ...historyOf([
      { key: 1, outcome: 'ok', applied: true },
      { key: 2, outcome: 'ok', applied: true },
      { key: 3, outcome: 'ok', applied: true },
    ]),
    { type: 'fault', phase: 'start', name: 'process-crash', target: 'pg-primary', time: 10, disruptive: true },
    { type: 'fault', phase: 'active', name: 'process-crash', target: 'pg-primary', time: 10.5 },
    { type: 'invoke', process: 9, f: 'write', key: 5, value: 'v5', node: 'pg-primary', time: 11 },
    { type: 'ok', process: 9, f: 'write', key: 5, value: 'v5', node: 'pg-primary', time: 12 },
    { type: 'recovery', phase: 'start', name: 'failover', time: 20 },
    { type: 'recovery', phase: 'end', name: 'failover', time: 30, outcome: 'ok' },
    { type: 'invoke', process: 7, f: 'write', key: 4, value: 'v4', node: 'pg-replica', time: 31 },
    { type: 'ok', process: 7, f: 'write', key: 4, value: 'v4', node: 'pg-replica', time: 35 },
  ];
  const final = { ...finalOf([]), primary: { node: 'pg-replica', rows: { '1': 'v1', '2': 'v2', '4': 'v4' } } };

  it('measures RTO from the first disruptive fault to the first ack by the recovered primary', () => {
    expect(computeRto(history, final)).toEqual({
      ms: 25,
      faultStart: 10,
      firstAckAfter: 35,
      outages: [{ fault: 'process-crash', target: 'pg-primary', startMs: 10, backMs: 35, ms: 25 }],
      later: null,
    });
  });

  it('reports a later, longer stretch without acknowledged writes beside a short RTO (an outage that began after the fault)', () => {
    // Writes go on 100 ms after the fault, then none is acknowledged from 1100 to 4600 ms.
    const at = (key: number, time: number): HistoryEvent[] => [
      { type: 'invoke', process: 1, f: 'write', key, value: `v${key}`, node: 'pg-a', time: time - 2 },
      { type: 'ok', process: 1, f: 'write', key, value: `v${key}`, node: 'pg-a', time },
    ];
    const later: HistoryEvent[] = [
      ...at(1, 5),
      { type: 'fault', phase: 'start', name: 'power-loss', target: 'pg-b', time: 10, disruptive: true },
      { type: 'fault', phase: 'active', name: 'power-loss', target: 'pg-b', time: 12, disruptive: true },
      ...at(2, 110),
      ...at(3, 1100),
      ...at(4, 4600),
      ...at(5, 4700),
    ];
    const rows = Object.fromEntries([1, 2, 3, 4, 5].map((k) => [String(k), `v${k}`]));
    const finalState = { ...finalOf([]), primary: { node: 'pg-a', rows }, probe: null };
    const rto = computeRto(later, finalState);
    expect(rto.ms).toBe(100);
    expect(rto.later).toEqual({ ms: 3500, fromMs: 1100, toMs: 4600 });
    expect(rtoChecker({ history: later, final: finalState, expectations }).summary).toBe(
      'writes were acknowledged again 100 ms after the first disruptive fault; later no write was acknowledged for 3500 ms (from 1100 to 4600 ms), longer than that (a measure: the experiment sets no RTO budget)',
    );
    // A later pause shorter than a second, or than the RTO itself, is not reported.
    const pauses: HistoryEvent[] = [...later.slice(0, 4), ...at(2, 110), ...at(3, 900), ...at(4, 1700), ...at(5, 2500)];
    expect(computeRto(pauses, finalState).later).toBeNull();
  });

  it('measures RPO from the earliest lost ack to the latest lost ack', () => {
    // Lost: key 3 (acked t=5) and key 5 (acked t=12, on the old primary).
    expect(computeRpo(history, final)).toEqual({ writes: 2, ms: 7 });
  });

  it('fails RTO over budget, reports it as a measure without one, and fails when nothing is acknowledged after the fault', () => {
    expect(rtoChecker({ history, final, expectations: { ...expectations, rtoBudgetMs: 20 } }).valid).toBe(false);
    expect(rtoChecker({ history, final, expectations: { ...expectations, rtoBudgetMs: 25 } }).valid).toBe(true);
    const measure = rtoChecker({ history, final, expectations });
    expect(measure.valid).toBe('skipped');
    expect(measure.summary).toBe('writes were acknowledged again 25 ms after the first disruptive fault (a measure: the experiment sets no RTO budget)');
    const neverRecovered = history.filter((e) => !('key' in e && e.key === 4));
    const noProbe = { ...final, probe: null };
    expect(rtoChecker({ history: neverRecovered, final: noProbe, expectations }).valid).toBe(false);
  });

  it('has no RTO without a disruptive fault and RPO zero without loss', () => {
    const writes: SyntheticWrite[] = [{ key: 1, outcome: 'ok', applied: true }];
    expect(computeRto(historyOf(writes), finalOf(writes)).ms).toBeNull();
    expect(computeRpo(historyOf(writes), finalOf(writes))).toEqual({ writes: 0, ms: 0 });
  });
});

describe('replica parity, integrity and restore-completed checkers', () => {
  const base = finalOf([{ key: 1, outcome: 'ok', applied: true }]);

  it('passes when every replica has the primary’s table hashes and fails naming the table that differs', () => {
    const same = { ...base, replicas: [{ node: 'pg-replica', tables: { faultline_ledger: 'h1' } }] };
    expect(replicaParityChecker({ history: [], final: same, expectations }).valid).toBe(true);
    const differs = { ...base, replicas: [{ node: 'pg-replica', tables: { faultline_ledger: 'h2' } }] };
    const result = replicaParityChecker({ history: [], final: differs, expectations });
    expect(result.valid).toBe(false);
    expect(result.details.differing).toEqual([{ node: 'pg-replica', table: 'faultline_ledger', primary: 'h1', replica: 'h2' }]);
  });

  it('fails integrity when a verification tool exits non-zero, and is unknown when none ran', () => {
    const bad = { ...base, integrity: [{ tool: 'pg_amcheck', node: 'pg-primary', exitCode: 2, output: 'heap table "t", block 0: invalid page\n' }] };
    const result = integrityChecker({ history: [], final: bad, expectations });
    expect(result.valid).toBe(false);
    expect(result.summary).toContain('invalid page');
    expect(integrityChecker({ history: [], final: { ...base, integrity: [] }, expectations }).valid).toBe('unknown');
  });

  it('fails restore-completed when the recovered cluster refuses a write', () => {
    const refused = { ...base, probe: { ok: false, time: 5, latencyMs: 1, node: 'pg-primary', error: 'cannot execute INSERT in a read-only transaction' } };
    expect(restoreCompletedChecker({ history: [], final: refused, expectations }).valid).toBe(false);
    expect(restoreCompletedChecker({ history: [], final: base, expectations }).valid).toBe(true);
  });
});

describe('composition', () => {
  it('composes false over unknown over true', () => {
    expect(composeValidity([true, 'unknown', false])).toBe(false);
    expect(composeValidity([true, 'unknown'])).toBe('unknown');
    expect(composeValidity([true, true])).toBe(true);
  });

  it('turns a checker that throws into unknown instead of a crash', () => {
    const results = runCheckers({ history: [], final: null, expectations }, [
      ['explodes', () => {
        throw new Error('kaboom');
      }],
    ]);
    expect(results).toMatchObject([{ name: 'explodes', valid: 'unknown', summary: 'the checker failed: kaboom', details: { error: 'kaboom' } }]);
  });
});

describe('RTO for a fault without a recovery step', () => {
  // io-stall invoked at t=10, in effect at t=60; a write acknowledged at t=30 (before the freeze
  // took hold) says nothing; the write blocked by the freeze is acknowledged at t=3060.
  const history: HistoryEvent[] = [
    ...historyOf([{ key: 1, outcome: 'ok', applied: true }]),
    { type: 'fault', phase: 'start', name: 'io-stall', target: 'pg-primary', time: 10, disruptive: true },
    { type: 'invoke', process: 1, f: 'write', key: 2, value: 'v2', node: 'pg-primary', time: 20 },
    { type: 'ok', process: 1, f: 'write', key: 2, value: 'v2', node: 'pg-primary', time: 30 },
    { type: 'invoke', process: 2, f: 'write', key: 3, value: 'v3', node: 'pg-primary', time: 40 },
    { type: 'fault', phase: 'active', name: 'io-stall', target: 'pg-primary', time: 60 },
    { type: 'fault', phase: 'end', name: 'io-stall', target: 'pg-primary', time: 3050 },
    { type: 'ok', process: 2, f: 'write', key: 3, value: 'v3', node: 'pg-primary', time: 3060 },
  ];

  it('counts from the fault’s start to the first ack after it took effect', () => {
    const final = finalOf([], { '1': 'v1', '2': 'v2', '3': 'v3' });
    expect(computeRto(history, { ...final, probe: null })).toMatchObject({ ms: 3050, faultStart: 10, firstAckAfter: 3060 });
  });

  it('does not count a write sent before the fault began and answered after it took effect (in flight, as a WAIT a crash cut short)', () => {
    const sent: HistoryEvent = { type: 'invoke', process: 3, f: 'write', key: 4, value: 'v4', node: 'pg-primary', time: 5 };
    const answered: HistoryEvent = { type: 'ok', process: 3, f: 'write', key: 4, value: 'v4', node: 'pg-primary', time: 70 };
    const inFlight = [sent, ...history, answered].sort((a, b) => a.time - b.time);
    const final = finalOf([], { '1': 'v1', '2': 'v2', '3': 'v3', '4': 'v4' });
    expect(computeRto(inFlight, { ...final, probe: null })).toMatchObject({ ms: 3050, firstAckAfter: 3060 });
  });
});
