// `faultline rehearse --rpo-budget`: lost writes are judged by the data they take, as time, and one
// lost write is not a 0 ms loss. The expectations are the ones rehearse itself builds.
import { describe, expect, it } from 'vitest';
import { rehearsalDefinition } from '../../../harness/validate/index.ts';
import { prepareExperiment } from '../../../harness/experiment/definition.ts';
import { runCheckers } from '../../../harness/checkers/index.ts';
import type { HistoryEvent } from '../../../harness/history/events.ts';
import type { FinalState } from '../../../harness/history/final-state.ts';

/** Writes acknowledged at the given times (each invoked 5 ms before). */
function acked(times: number[]): HistoryEvent[] {
  return times.flatMap((t, i) => [
    { type: 'invoke', process: i, f: 'write', key: i + 1, value: `v${i + 1}`, node: 'pg-primary', time: t - 5 },
    { type: 'ok', process: i, f: 'write', key: i + 1, value: `v${i + 1}`, node: 'pg-primary', time: t },
  ]) as HistoryEvent[];
}

const final = (keys: number[]): FinalState => ({
  time: 10_000,
  primary: { node: 'pg-restored', rows: Object.fromEntries(keys.map((k) => [String(k), `v${k}`])), tables: { faultline_ledger: 'h' } },
  replicas: [],
  integrity: [],
  probe: { ok: true, time: 9_000, latencyMs: 1, node: 'pg-restored' },
});

describe('rehearse --rpo-budget', () => {
  const { expectations } = prepareExperiment(rehearsalDefinition({ runbook: './restore.sh', rpoBudgetMs: 1_000 }));
  const check = (history: HistoryEvent[], keys: number[], name: string) => runCheckers({ history, final: final(keys), expectations }).find((c) => c.name === name)!;

  it('fails one lost write acknowledged 3 s after the last write that survived: 3 s of data, over a 1 s budget', () => {
    const history = acked([100, 200, 3_200]);
    expect(check(history, [1, 2], 'lost-writes').valid).toBe(true); // the number is not judged, the window is
    const rpo = check(history, [1, 2], 'rpo');
    expect(rpo.valid).toBe(false);
    expect(rpo.summary).toBe('RPO 1 writes over 0 ms: 3000 ms of data lost, counted from the last write that survived before them (budget 1000 ms)');
  });

  it('passes one lost write within the budget of the last write that survived', () => {
    expect(check(acked([100, 200, 700]), [1, 2], 'rpo').valid).toBe(true);
  });
});
