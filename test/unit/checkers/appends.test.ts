// Appends (a Redis list workload: RPUSH of a unique value, keyed by a unique integer) are writes to
// every check that judges writes; WAIT / WAITAOF confirmations are named when such writes are lost.
import { describe, expect, it } from 'vitest';
import {
  ALL_CHECK_NAMES,
  anomaliesChecker,
  checkersFor,
  computeRpo,
  defaultExpectations,
  indeterminateChecker,
  lostWritesChecker,
  standardCheckers,
  writeRecords,
} from '../../../harness/checkers/index.ts';
import type { HistoryEvent, OpEvent } from '../../../harness/history/events.ts';
import { finalOf, historyOf } from './synthetic.ts';

const expectations = defaultExpectations;

type Outcome = 'ok' | 'fail' | 'info' | 'pending';

/** One op each, invoked and completed in turn, 1 ms apart (keys from `first`). */
function ops(f: 'write' | 'append', outcomes: Outcome[], first = 1, confirmed?: (key: number) => OpEvent['confirmed']): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  outcomes.forEach((outcome, i) => {
    const key = first + i;
    const base = { process: key, f, key, value: `v${key}`, node: 'redis-1' };
    events.push({ ...base, type: 'invoke', time: 2 * key });
    if (outcome === 'pending') return;
    const c = outcome === 'ok' ? confirmed?.(key) : undefined;
    events.push({ ...base, type: outcome, time: 2 * key + 1, ...(outcome === 'ok' ? {} : { error: 'boom' }), ...(c ? { confirmed: c } : {}) });
  });
  return events;
}

const rowsOf = (keys: number[]) => Object.fromEntries(keys.map((k) => [String(k), `v${k}`]));

describe('appends are writes', () => {
  it('records appends like writes', () => {
    const records = writeRecords([...ops('write', ['ok']), ...ops('append', ['ok', 'info'], 2)]);
    expect([...records.values()].map((r) => [r.key, r.f, r.outcome])).toEqual([
      [1, 'write', 'ok'],
      [2, 'append', 'ok'],
      [3, 'append', 'info'],
    ]);
  });

  it('lost-writes counts an acknowledged append missing from the final rows as lost', () => {
    const history = [...ops('write', ['ok', 'ok']), ...ops('append', ['ok', 'ok', 'ok'], 3)];
    const final = finalOf([], rowsOf([1, 2, 3, 5]));
    const result = lostWritesChecker({ history, final, expectations });
    expect(result.valid).toBe(false);
    expect(result.details).toMatchObject({ acknowledged: 5, lost: 1, lostKeys: [4], lostAppends: 1 });
    expect(result.summary).toBe('1 of 5 acknowledged writes are missing from the final state');
    expect(computeRpo(history, final)).toEqual({ writes: 1, ms: 0 });
    expect(lostWritesChecker({ history, final: finalOf([], rowsOf([1, 2, 3, 4, 5])), expectations }).valid).toBe(true);
  });

  it('anomalies flags a value no client appended, or whose append failed, and accepts the rest', () => {
    const history = ops('append', ['ok', 'fail', 'info'], 1);
    expect(anomaliesChecker({ history, final: finalOf([], rowsOf([1, 3])), expectations }).valid).toBe(true);
    const result = anomaliesChecker({ history, final: finalOf([], rowsOf([1, 2, 99])), expectations });
    expect(result.valid).toBe(false);
    expect(result.details.first).toEqual([
      { key: '2', value: 'v2', reason: 'its write definitely failed (boom)' },
      { key: '99', value: 'v99', reason: 'never written by any client' },
    ]);
  });

  it('indeterminate-writes counts indeterminate appends', () => {
    const history = ops('append', ['info', 'pending', 'ok'], 1);
    expect(indeterminateChecker({ history, final: finalOf([], rowsOf([2, 3])), expectations }).details).toMatchObject({ indeterminate: 2, pending: 1, survived: 1 });
  });
});

describe('lost-writes and WAIT / WAITAOF confirmations', () => {
  const wait = (key: number): OpEvent['confirmed'] => (key <= 3 ? { replicas: 1, met: true } : key === 4 ? { replicas: 0, met: false } : undefined);

  it('names how many lost writes WAIT had confirmed; the verdict is unchanged', () => {
    const history = ops('append', ['ok', 'ok', 'ok', 'ok', 'ok', 'ok'], 1, wait);
    const final = finalOf([], rowsOf([1, 6]));
    const result = lostWritesChecker({ history, final, expectations });
    expect(result.valid).toBe(false);
    expect(result.details).toMatchObject({ lost: 4, confirmedLost: 2, confirmedLostKeys: [2, 3] });
    expect(result.summary).toBe('4 of 6 acknowledged writes are missing from the final state; 2 of them had been confirmed by WAIT (1 replica)');
    // Tolerated all the same when the experiment tolerates the loss.
    expect(lostWritesChecker({ history, final, expectations: { ...expectations, maxLostWrites: 4 } }).valid).toBe(true);
  });

  it('says WAITAOF, and says nothing of confirmations when no confirmed write is lost', () => {
    const history = ops('write', ['ok', 'ok'], 1, () => ({ aof: [1, 1], met: true }));
    const result = lostWritesChecker({ history, final: finalOf([], rowsOf([2])), expectations });
    expect(result.summary).toBe("1 of 2 acknowledged writes are missing from the final state; 1 of them had been confirmed by WAITAOF (local AOF, 1 replica's AOF)");
    expect(result.details.confirmedLost).toBe(1);
    const unconfirmed = lostWritesChecker({ history: ops('write', ['ok', 'ok'], 1, wait), final: finalOf([], rowsOf([1, 2])), expectations });
    expect(unconfirmed.details.confirmedLost).toBe(0);
    expect(unconfirmed.summary).toBe('all 2 acknowledged writes are in the final state');
  });

  it('keeps PostgreSQL histories as they were: no confirmation, no count', () => {
    const writes = [{ key: 1, outcome: 'ok' as const, applied: true }];
    const result = lostWritesChecker({ history: historyOf(writes), final: finalOf([], {}), expectations });
    expect(result.summary).toBe('1 of 1 acknowledged writes are missing from the final state');
    expect(result.details.confirmedLost).toBe(0);
    expect(result.details).not.toHaveProperty('lostAppends');
  });
});

describe('which checks run', () => {
  it('adds the order check only where the history has appends', () => {
    const final = finalOf([], rowsOf([1]));
    expect(checkersFor({ history: ops('write', ['ok']), final, expectations }).map(([name]) => name)).toEqual(standardCheckers.map(([name]) => name));
    expect(checkersFor({ history: ops('append', ['ok']), final, expectations }).map(([name]) => name)).toEqual([...standardCheckers.map(([name]) => name), 'order']);
    expect(checkersFor({ history: ops('append', ['ok']), final, expectations: { ...expectations, rehearseRestore: true } }).map(([name]) => name).slice(-2)).toEqual(['restore-rehearsal', 'order']);
    expect(ALL_CHECK_NAMES).toEqual([...standardCheckers.map(([name]) => name), 'restore-rehearsal', 'order', 'availability', 'split-brain', 'manager-acted', 'failover-choice']);
  });
});
