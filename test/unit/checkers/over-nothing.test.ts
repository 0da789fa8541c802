// A check over nothing shows nothing: no acknowledged write, no write before a rehearsal's cut-off,
// no table compared. Each is unknown with a summary saying why, never a pass. And an RPO budget is
// never met by a lost write just because one write spans 0 ms.
import { describe, expect, it } from 'vitest';
import {
  computeLossWindow,
  computeRpo,
  defaultExpectations as expectations,
  lostWritesChecker,
  replicaParityChecker,
  restoreRehearsalChecker,
  rpoChecker,
} from '../../../harness/checkers/index.ts';
import type { HistoryEvent } from '../../../harness/history/events.ts';
import { finalOf, historyOf, type SyntheticWrite } from './synthetic.ts';

const acked = (n: number): SyntheticWrite[] => Array.from({ length: n }, (_, i) => ({ key: i + 1, outcome: 'ok', applied: true }));

describe('checks over nothing', () => {
  it('lost-writes is unknown when no write was acknowledged, though nothing is missing', () => {
    const writes: SyntheticWrite[] = [{ key: 1, outcome: 'fail', applied: false }, { key: 2, outcome: 'info', applied: false }];
    const result = lostWritesChecker({ history: historyOf(writes), final: finalOf(writes), expectations });
    expect(result.valid).toBe('unknown');
    expect(result.summary).toBe('no write was acknowledged, so nothing shows whether acknowledged writes survive');
  });

  it('the restore rehearsal is unknown when no write was acknowledged before its cut-off', () => {
    const writes = acked(3); // acknowledged at t = 1, 3, 5
    const history: HistoryEvent[] = [
      ...historyOf(writes),
      { type: 'rehearsal', phase: 'start', time: 0.5, cutoff: 0.5 },
      { type: 'rehearsal', phase: 'end', time: 10, outcome: 'ok', cutoff: 0.5, acknowledged: 0, missing: 0, detail: 'restored pg-rehearsal' },
    ];
    const final = { ...finalOf(writes), rehearsal: { node: 'pg-rehearsal', rows: {} } };
    const result = restoreRehearsalChecker({ history, final, expectations: { ...expectations, rehearseRestore: true } });
    expect(result.valid).toBe('unknown');
    expect(result.summary).toMatch(/^the backup restored, but no write was acknowledged before the last archived WAL switch, so nothing shows it holds what it must/);
    // The same rehearsal with writes before its cut-off is judged as usual.
    const later = history.map((e) => (e.type === 'rehearsal' ? { ...e, cutoff: 6 } : e));
    const held = { ...final, rehearsal: { node: 'pg-rehearsal', rows: { '1': 'v1', '2': 'v2', '3': 'v3' } } };
    expect(restoreRehearsalChecker({ history: later, final: held, expectations }).valid).toBe(true);
  });

  it('replica parity is unknown when the replicas were compared over no table at all', () => {
    const base = finalOf(acked(1));
    const empty = { ...base, primary: { ...base.primary!, tables: {} }, replicas: [{ node: 'pg-replica', tables: {} }] };
    const result = replicaParityChecker({ history: [], final: empty, expectations });
    expect(result.valid).toBe('unknown');
    expect(result.summary).toBe('pg-replica and the primary hold no table to compare, so their parity was not shown');
  });
});

describe('an RPO budget and a single lost write', () => {
  // Writes 1..5 acknowledged at t = 1, 3, 5, 7, 9 (each invoked 1 ms before); write 5 is lost.
  const writes = acked(5);
  const final = finalOf(writes, { '1': 'v1', '2': 'v2', '3': 'v3', '4': 'v4' });

  it('measures the lost writes’ own span as 0 ms, as RPO is defined…', () => {
    expect(computeRpo(historyOf(writes), final)).toEqual({ writes: 1, ms: 0 });
  });

  it('…but judges the budget on the data lost since the last write that survived before it', () => {
    expect(computeLossWindow(historyOf(writes), final)).toEqual({ ms: 2, fromMs: 7, from: 'the last write that survived before them', toMs: 9 });
    const over = rpoChecker({ history: historyOf(writes), final, expectations: { ...expectations, rpoBudgetMs: 1 } });
    expect(over.valid).toBe(false);
    expect(over.summary).toBe('RPO 1 writes over 0 ms: 2 ms of data lost, counted from the last write that survived before them (budget 1 ms)');
    expect(rpoChecker({ history: historyOf(writes), final, expectations: { ...expectations, rpoBudgetMs: 2 } }).valid).toBe(true);
  });

  it('counts from the lost write’s invocation when nothing before it survived, and never as 0 ms', () => {
    const window = computeLossWindow(historyOf(acked(1)), finalOf(acked(1), {}));
    expect(window).toEqual({ ms: 1, fromMs: 0, from: 'the invocation of the earliest lost write', toMs: 1 });
    expect(rpoChecker({ history: historyOf(acked(1)), final: finalOf(acked(1), {}), expectations: { ...expectations, rpoBudgetMs: 0 } }).valid).toBe(false);
  });

  it('is unknown with a budget when no write was acknowledged to lose', () => {
    const none: SyntheticWrite[] = [{ key: 1, outcome: 'fail', applied: false }];
    expect(rpoChecker({ history: historyOf(none), final: finalOf(none), expectations: { ...expectations, rpoBudgetMs: 1000 } }).valid).toBe('unknown');
  });
});
