import { describe, expect, it } from 'vitest';
import { checkersFor, defaultExpectations, restoreRehearsalChecker, runCheckers } from '../../../harness/checkers/index.ts';
import { prepareExperiment } from '../../../harness/experiment/index.ts';
import { buildResult } from '../../../harness/report/result.ts';
import { formatComparison } from '../../../harness/report/summary.ts';
import type { HistoryEvent, RehearsalEvent } from '../../../harness/history/events.ts';
import sidekickHardened from '../../../experiments/sidekick-hardened.ts';
import { finalOf, historyOf } from './synthetic.ts';

const expectations = { ...defaultExpectations, rehearseRestore: true };
const rehearsal = (end: Omit<RehearsalEvent, 'type' | 'phase' | 'time'> | null): HistoryEvent[] => [
  { type: 'rehearsal', phase: 'start', time: 100, cutoff: 50 },
  ...(end ? [{ type: 'rehearsal' as const, phase: 'end' as const, time: 4100, ...end }] : []),
];

describe('the restore-rehearsal check', () => {
  it('passes a backup that restored with every write acknowledged before the last archived WAL switch', () => {
    const check = restoreRehearsalChecker({ history: rehearsal({ outcome: 'ok', detail: 'restored pg-rehearsal', cutoff: 50, acknowledged: 2317, missing: 0 }), final: null, expectations });
    expect(check.valid).toBe(true);
    expect(check.summary).toBe('the backup restored and holds all 2317 writes acknowledged before the last archived WAL switch: restored pg-rehearsal');
  });

  it('fails a backup that restored short of writes, or not at all, and names why', () => {
    const short = restoreRehearsalChecker({ history: rehearsal({ outcome: 'ok', detail: 'd', acknowledged: 900, missing: 12, missingKeys: [5, 6] }), final: null, expectations });
    expect(short.valid).toBe(false);
    expect(short.summary).toMatch(/lacks 12 of the 900 writes acknowledged before the last archived WAL switch \(over the 0 allowed\)/);
    expect(short.details.missingKeys).toEqual([5, 6]);
    const allowed = restoreRehearsalChecker({ history: rehearsal({ outcome: 'ok', detail: 'd', acknowledged: 900, missing: 12 }), final: null, expectations: { ...expectations, maxLostWrites: 20 } });
    expect(allowed.valid).toBe(true);
    const failed = restoreRehearsalChecker({ history: rehearsal({ outcome: 'failed', detail: 'the WAL chain is broken: segment X missing' }), final: null, expectations });
    expect(failed.valid).toBe(false);
    expect(failed.summary).toBe('the backup did not restore: the WAL chain is broken: segment X missing');
  });

  it('is unknown, never a pass, when the rehearsal never ended', () => {
    expect(restoreRehearsalChecker({ history: rehearsal(null), final: null, expectations }).valid).toBe('unknown');
    expect(restoreRehearsalChecker({ history: [], final: null, expectations }).summary).toMatch(/ended before the restore rehearsal/);
  });

  it('runs only in experiments that ask for a rehearsal, and shows in the side-by-side table', () => {
    const history = historyOf([{ key: 1, outcome: 'ok', applied: true }]);
    const final = finalOf([{ key: 1, outcome: 'ok', applied: true }]);
    expect(checkersFor({ history, final, expectations: defaultExpectations }).map(([name]) => name)).not.toContain('restore-rehearsal');
    expect(prepareExperiment(sidekickHardened).expectations.rehearseRestore).toBe(true);

    const withRehearsal = [...history, ...rehearsal({ outcome: 'ok', detail: 'd', acknowledged: 1, missing: 0 })];
    const checks = runCheckers({ history: withRehearsal, final, expectations });
    expect(checks.map((c) => c.name)).toContain('restore-rehearsal');
    const input = { experiment: 'x', seed: 1, runId: null, final, checks, timings: { clusterReadyMs: null, workloadMs: null, totalMs: 1 }, versions: {}, dir: '/tmp' };
    const rehearsed = buildResult({ ...input, history: withRehearsal });
    expect(rehearsed.restore.rehearsal).toEqual({ completed: true, missing: 0, durationMs: 4000 });
    const plain = buildResult({ ...input, experiment: 'y', history, checks: runCheckers({ history, final, expectations: defaultExpectations }) });
    expect(plain.restore.rehearsal).toBeUndefined();
    expect(formatComparison([plain, rehearsed])).toMatch(/backup rehearsed\s+—\s+yes\n/);
  });
});

describe('recovery.rehearseRestore in a definition', () => {
  const base = { name: 'x', description: 'x', topology: sidekickHardened.topology, workload: { duration: '5s' } };
  it.each([
    [{ at: '1s', try: ['failover'] as Array<'failover'>, rehearseRestore: 'yes' as unknown as boolean }, /rehearseRestore must be true or false, got "yes"/],
    [{ at: '2s', try: ['failover'] as Array<'failover'>, rehearseRestore: true, restoreTo: '1s' }, /cannot be combined with recovery.restoreTo/],
  ])('refuses %j', (recovery, message) => {
    expect(() => prepareExperiment({ ...base, recovery })).toThrow(message);
  });

  it('refuses a rehearsal with no archive to restore from', () => {
    const topology = { domains: ['san-a', 'san-b'], postgres: { nodes: [{ name: 'pg-primary', role: 'primary' as const, domain: 'san-a' }, { name: 'pg-replica', role: 'replica' as const, domain: 'san-b' }] } };
    expect(() => prepareExperiment({ ...base, topology, recovery: { at: '1s', try: ['failover'], rehearseRestore: true } })).toThrow(/needs a backup to restore, but the topology has no archive node/);
  });
});

describe('the restore-rehearsal loss from recorded rows', () => {
  it('is recomputed from the scratch node\'s rows in the final state, so faultline report can check it again', () => {
    // Keys 1 and 2 acknowledged before the cutoff (at 50), key 3 after it; the scratch node lacks key 2.
    const writes = historyOf([
      { key: 1, outcome: 'ok', applied: true },
      { key: 2, outcome: 'ok', applied: true },
    ]);
    const cutoff = Math.max(...writes.map((e) => e.time)) + 1;
    const history = [...writes, { type: 'rehearsal' as const, phase: 'start' as const, time: cutoff, cutoff }, { type: 'rehearsal' as const, phase: 'end' as const, time: cutoff + 10, outcome: 'ok' as const, detail: 'd', cutoff, acknowledged: 2, missing: 0 }];
    const final = finalOf([{ key: 1, outcome: 'ok', applied: true }, { key: 2, outcome: 'ok', applied: true }]);
    const rows = { ...final.primary!.rows! };
    delete rows['2'];
    const check = restoreRehearsalChecker({ history, final: { ...final, rehearsal: { node: 'pg-rehearsal', rows } }, expectations });
    expect(check.valid).toBe(false);
    expect(check.details).toMatchObject({ acknowledged: 2, missing: 1, missingKeys: [2] });
    // Without recorded rows (runs from before), the event's count stands.
    expect(restoreRehearsalChecker({ history, final, expectations }).valid).toBe(true);
  });
});
