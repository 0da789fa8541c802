// Synthetic histories for checker tests: writes with chosen outcomes, and the matching final state.
import fc from 'fast-check';
import type { FinalState } from '../../../harness/checkers/types.ts';
import type { HistoryEvent } from '../../../harness/history/events.ts';
import type { WriteOutcome } from '../../../harness/checkers/writes.ts';

export interface SyntheticWrite {
  key: number;
  outcome: WriteOutcome;
  /** For info/pending writes: did it reach the final state? */
  applied: boolean;
}

/** Builds a history in which each write is invoked and completed in order, 1 ms apart. */
export function historyOf(writes: SyntheticWrite[], extra: HistoryEvent[] = []): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  let time = 0;
  for (const w of writes) {
    const base = { process: w.key % 4, f: 'write' as const, key: w.key, value: `v${w.key}`, node: 'pg-primary' };
    events.push({ ...base, type: 'invoke', time: time++ });
    if (w.outcome !== 'pending') events.push({ ...base, type: w.outcome, time: time++, ...(w.outcome === 'ok' ? {} : { error: 'boom' }) });
  }
  return [...events, ...extra].sort((a, b) => a.time - b.time);
}

/** The final state a correct database would hold for these writes. */
export function finalOf(writes: SyntheticWrite[], rows?: Record<string, string>): FinalState {
  const all = rows ?? Object.fromEntries(writes.filter((w) => w.outcome === 'ok' || ((w.outcome === 'info' || w.outcome === 'pending') && w.applied)).map((w) => [String(w.key), `v${w.key}`]));
  return {
    time: 1e9,
    primary: { node: 'pg-primary', rows: all, tables: { faultline_ledger: 'h1' } },
    replicas: [],
    integrity: [{ tool: 'pg_amcheck', node: 'pg-primary', exitCode: 0, output: '' }],
    probe: { ok: true, time: 1e9, latencyMs: 3, node: 'pg-primary' },
  };
}

export const writesArbitrary = fc
  .uniqueArray(
    fc.record({
      key: fc.integer({ min: 1, max: 100_000 }),
      outcome: fc.constantFrom<WriteOutcome>('ok', 'ok', 'ok', 'fail', 'info', 'pending'),
      applied: fc.boolean(),
    }),
    { selector: (w) => w.key, minLength: 1, maxLength: 200 },
  )
  .map((writes) => writes.sort((a, b) => a.key - b.key));
