import { describe, expect, it } from 'vitest';
import { defaultExpectations, runCheckers } from '../../../harness/checkers/index.ts';
import type { HistoryEvent } from '../../../harness/history/events.ts';
import { finalOf, historyOf, type SyntheticWrite } from './synthetic.ts';

const writes: SyntheticWrite[] = [1, 2, 3, 4].map((key) => ({ key, outcome: 'ok', applied: true }));
const caveat = 'pg-primary runs with recovery_init_sync_method = syncfs, and a syncfs never reaches faultfs';
const powerLoss = (withCaveat: boolean): HistoryEvent[] => [
  { type: 'fault', phase: 'start', name: 'power-loss', target: 'pg-primary', time: 2.5, id: 'f0' },
  { type: 'fault', phase: 'active', name: 'power-loss', target: 'pg-primary', time: 2.6, id: 'f0', detail: 'power lost', ...(withCaveat ? { caveat } : {}) },
];
const lostWrites = (history: HistoryEvent[], rows: Record<string, string>) =>
  runCheckers({ history, final: finalOf(writes, rows), expectations: defaultExpectations }).find((c) => c.name === 'lost-writes')!;

describe('a fault that cannot model its target faithfully (a caveat)', () => {
  const missingTwo = { '1': 'v1', '2': 'v2' };

  it('makes a loss found after it unknown, never a failure, and says why', () => {
    const check = lostWrites(historyOf(writes, powerLoss(true)), missingTwo);
    expect(check.valid).toBe('unknown');
    expect(check.summary).toBe(`2 of 4 acknowledged writes are missing from the final state; not counted as a failure: ${caveat}`);
    expect(check.details.caveats).toEqual([caveat]);
  });

  it('leaves the same loss a failure without a caveat, and a pass a pass with one', () => {
    expect(lostWrites(historyOf(writes, powerLoss(false)), missingTwo).valid).toBe(false);
    const whole = lostWrites(historyOf(writes, powerLoss(true)), { '1': 'v1', '2': 'v2', '3': 'v3', '4': 'v4' });
    expect(whole.valid).toBe(true);
    expect(whole.summary).toBe('all 4 acknowledged writes are in the final state');
  });
});
