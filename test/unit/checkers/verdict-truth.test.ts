// The holes a check must never pass through: evidence not gathered, faults that did not happen,
// measures without a budget, replicas that were not compared. Pure logic on synthetic histories.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  archiveContinuityChecker,
  composeValidity,
  computeRpo,
  computeRto,
  defaultExpectations,
  faultsAppliedChecker,
  integrityChecker,
  lostWritesChecker,
  replicaParityChecker,
  restoreCompletedChecker,
  rpoChecker,
  rtoChecker,
  runCheckers,
  type Validity,
} from '../../../harness/checkers/index.ts';
import { buildResult } from '../../../harness/report/result.ts';
import type { FaultEvent, HistoryEvent } from '../../../harness/history/events.ts';
import type { FinalState } from '../../../harness/history/final-state.ts';
import { finalOf, historyOf, type SyntheticWrite } from './synthetic.ts';

const expectations = defaultExpectations;
const acked: SyntheticWrite[] = [1, 2, 3].map((key) => ({ key, outcome: 'ok', applied: true }));

function fault(id: string, name: string, time: number, end: Partial<FaultEvent> = {}, extra: Partial<FaultEvent> = {}): HistoryEvent[] {
  const base = { type: 'fault' as const, id, name, target: 'pg-primary' };
  return [
    { ...base, phase: 'start', time, disruptive: true, ...extra },
    ...(end.skipped || end.failed ? [] : [{ ...base, phase: 'active' as const, time: time + 1, ...(end.noEffect ? { noEffect: end.noEffect } : {}) }]),
    { ...base, phase: 'end', time: time + 2, ...end },
  ];
}

describe('no vacuous passes', () => {
  it('skips, never passes, replica parity when no replica survives', () => {
    const result = replicaParityChecker({ history: [], final: finalOf(acked), expectations });
    expect(result.valid).toBe('skipped');
    expect(result.summary).toBe('no surviving replica to compare');
  });

  it('reports RPO with thousands of writes lost and no budget as a measure, not a pass', () => {
    const writes: SyntheticWrite[] = Array.from({ length: 3000 }, (_, i) => ({ key: i + 1, outcome: 'ok', applied: true }));
    const final = finalOf(writes, {});
    const rpo = rpoChecker({ history: historyOf(writes), final, expectations });
    expect(rpo.valid).toBe('skipped');
    expect(rpo.summary).toMatch(/^RPO 3000 writes over \d+ ms \(a measure: the experiment sets no RPO budget\)$/);
    expect(rpoChecker({ history: historyOf(writes), final, expectations: { ...expectations, rpoBudgetMs: 100_000 } }).valid).toBe(true);
    expect(rpoChecker({ history: historyOf(writes), final, expectations: { ...expectations, rpoBudgetMs: 10 } }).valid).toBe(false);
  });

  it('skips RTO when no disruptive fault took effect, and when the only one was skipped', () => {
    expect(rtoChecker({ history: historyOf(acked), final: finalOf(acked), expectations }).valid).toBe('skipped');
    const skipped = [...historyOf(acked), ...fault('f0', 'latency', 100, { skipped: 'no netem' })];
    expect(computeRto(skipped, finalOf(acked)).faultStart).toBeNull();
    expect(rtoChecker({ history: skipped, final: finalOf(acked), expectations: { ...expectations, rtoBudgetMs: 1 } }).valid).toBe('skipped');
  });

  it('counts RTO from the first disruptive fault that took effect, and lists every outage', () => {
    const writes = (keys: number[], at: number): HistoryEvent[] =>
      keys.flatMap((key, i) => [
        { type: 'invoke', process: key, f: 'write', key, value: `v${key}`, node: 'pg-primary', time: at + i * 10 },
        { type: 'ok', process: key, f: 'write', key, value: `v${key}`, node: 'pg-primary', time: at + i * 10 + 5 },
      ]);
    const history = [
      ...fault('f0', 'io-stall', 100, { skipped: 'kernel says no' }),
      ...fault('f1', 'io-stall', 200),
      ...writes([1], 500),
      ...fault('f2', 'pause', 1000),
      ...writes([2], 1400),
    ].sort((a, b) => a.time - b.time);
    const rto = computeRto(history, { ...finalOf([]), probe: null });
    expect(rto.faultStart).toBe(200);
    expect(rto.ms).toBe(305);
    expect(rto.outages.map((o) => [o.startMs, o.backMs])).toEqual([
      [200, 505],
      [1000, 1405],
    ]);
  });

  it('skips restore-completed when the restore is not required, instead of passing a failed one', () => {
    const history: HistoryEvent[] = [
      { type: 'recovery', phase: 'start', name: 'restore', time: 1 },
      { type: 'recovery', phase: 'end', name: 'restore', time: 2, outcome: 'failed', detail: 'no base backup' },
    ];
    const result = restoreCompletedChecker({ history, final: finalOf(acked), expectations: { ...expectations, restoreMustComplete: false } });
    expect(result.valid).toBe('skipped');
    expect(result.summary).toBe('recovery failed: restore: no base backup (the experiment does not require the restore to complete)');
  });

  it('does not let a failed follow-up step (rejoin) pass for the recovery, nor a successful one hide a failed recovery', () => {
    const history: HistoryEvent[] = [
      { type: 'recovery', phase: 'start', name: 'restore', time: 1 },
      { type: 'recovery', phase: 'end', name: 'restore', time: 2, outcome: 'failed', detail: 'no base backup' },
      { type: 'recovery', phase: 'start', name: 'archive-follow', time: 3, followUp: true },
      { type: 'recovery', phase: 'end', name: 'archive-follow', time: 4, outcome: 'ok', followUp: true },
    ];
    expect(restoreCompletedChecker({ history, final: finalOf(acked), expectations }).valid).toBe(false);
  });
});

describe('replica parity never passes a replica it did not compare', () => {
  const final = (replicas: FinalState['replicas']): FinalState => ({ ...finalOf(acked), replicas });

  it('fails on a replica that could not be read, or that is orphaned, even when another one matches', () => {
    const result = replicaParityChecker({
      history: [],
      final: final([
        { node: 'pg-replica', tables: { faultline_ledger: 'h1' } },
        { node: 'pg-replica2', error: 'timed out after 30 s waiting for pg-replica2 to stream from pg-replica (last seen: pg-replica sees it not connected (orphaned?))' },
      ]),
      expectations,
    });
    expect(result.valid).toBe(false);
    expect(result.summary).toMatch(/^pg-replica2 could not be compared: timed out/);
  });

  it('fails when the former primary could not rejoin', () => {
    const history: HistoryEvent[] = [{ type: 'recovery', phase: 'end', name: 'rejoin', time: 5, outcome: 'failed', detail: 'pg_rewind failed', followUp: true }];
    const result = replicaParityChecker({ history, final: final([]), expectations });
    expect(result.valid).toBe(false);
    expect(result.summary).toBe('the former primary did not rejoin: pg_rewind failed');
  });

  it('is true only when every listed replica was compared and matches (property)', () => {
    const replica = fc.record({
      node: fc.constantFrom('r1', 'r2', 'r3', 'r4'),
      hash: fc.constantFrom('h1', 'h1', 'h2'),
      readable: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(replica, { maxLength: 4 }), (replicas) => {
        const listed = replicas.map((r) => (r.readable ? { node: r.node, tables: { faultline_ledger: r.hash } } : { node: r.node, error: 'connection refused' }));
        const valid = replicaParityChecker({ history: [], final: final(listed), expectations }).valid;
        const allGood = replicas.every((r) => r.readable && r.hash === 'h1');
        if (replicas.length === 0) expect(valid).toBe('skipped');
        else expect(valid).toBe(allGood);
      }),
    );
  });
});

describe('faults-applied', () => {
  it('fails a run whose fault was skipped, failed or had no effect, naming each', () => {
    const history = [
      ...fault('f0', 'latency', 10, { skipped: 'no sch_netem' }),
      ...fault('f1', 'silent-corruption', 20, { noEffect: 'crash recovery overwrote the damage' }),
      ...fault('f2', 'io-stall', 30, { failed: 'fsfreeze: Operation not permitted' }),
      ...fault('f3', 'pause', 40),
    ];
    const result = faultsAppliedChecker({ history, final: null, expectations });
    expect(result.valid).toBe(false);
    expect(result.details.applied).toBe(1);
    expect(result.summary).toMatch(/^3 of 4 faults did not take effect/);
    expect(result.summary).toContain('latency on pg-primary at 10 ms (skipped: no sch_netem)');
    expect(result.summary).toContain('(no effect: crash recovery overwrote the damage)');
    expect(result.summary).toContain('(failed: fsfreeze: Operation not permitted)');
  });

  it('lets an optional fault be skipped, and says so', () => {
    const history = [...fault('f0', 'latency', 10, { skipped: 'no sch_netem' }, { optional: true }), ...fault('f1', 'pause', 20)];
    const result = faultsAppliedChecker({ history, final: null, expectations });
    expect(result.valid).toBe(true);
    expect(result.summary).toMatch(/^1 of 2 faults took effect; optional, not applied: latency/);
    const onlyOptional = faultsAppliedChecker({ history: fault('f0', 'latency', 10, { skipped: 'no sch_netem' }, { optional: true }), final: null, expectations });
    expect(onlyOptional.valid).toBe('skipped');
  });

  it('pairs phases by id, so two faults of one name on one node are told apart', () => {
    const history = [...fault('f0', 'io-stall', 10), ...fault('f1', 'io-stall', 11, { noEffect: 'nothing frozen' })].sort((a, b) => a.time - b.time);
    expect(faultsAppliedChecker({ history, final: null, expectations }).details.applied).toBe(1);
  });

  it('is skipped when nothing was scheduled', () => {
    expect(faultsAppliedChecker({ history: historyOf(acked), final: null, expectations }).valid).toBe('skipped');
  });
});

describe('integrity and archive continuity', () => {
  it('names the damaged relation per node, and never passes when no node could be verified', () => {
    const final = {
      ...finalOf(acked),
      integrity: [
        { tool: 'pg_amcheck', node: 'pg-primary', exitCode: 2, output: 'btree index "postgres.public.faultline_ledger_pkey":\n    ERROR:  invalid page in block 3\n' },
        { tool: 'pg_amcheck', node: 'pg-replica', exitCode: 0, output: '' },
        { tool: 'pg_checksums', node: 'pg-old', exitCode: 0, output: '', skipped: 'crash recovery failed' },
      ],
    };
    const result = integrityChecker({ history: [], final, expectations });
    expect(result.valid).toBe(false);
    expect(result.summary).toContain('pg_amcheck on pg-primary (exit 2) names btree index postgres.public.faultline_ledger_pkey');
    expect(result.summary).toContain('not checked: pg-old (crash recovery failed)');
    const onlySkipped = { ...final, integrity: [final.integrity[2]!] };
    expect(integrityChecker({ history: [], final: onlySkipped, expectations }).valid).toBe('unknown');
  });

  it('fails a hole, an archive that does not follow, and skips a topology without an archive', () => {
    const base = finalOf(acked);
    const check = (archive: FinalState['archive']) => archiveContinuityChecker({ history: [], final: { ...base, ...(archive ? { archive } : {}) }, expectations });
    expect(check(undefined).valid).toBe('skipped');
    expect(check({ node: 'pg-archive', timeline: 2, from: 'A', through: 'B', missing: [] }).valid).toBe(true);
    const hole = check({ node: 'pg-archive', timeline: 2, from: 'A', through: 'B', missing: ['000000020000000000000007'] });
    expect(hole.valid).toBe(false);
    expect(hole.summary).toBe('the archive on pg-archive has a hole on timeline 2: 000000020000000000000007 missing between A and B');
    expect(check({ node: 'pg-archive', error: 'timed out' }).valid).toBe(false);
    const inBackup = check({ node: 'pg-archive', timeline: 2, from: 'A', through: 'B', missing: [], inBackup: { label: '20261207T055135Z', segments: ['000000010000000000000003'] } });
    expect(inBackup.valid).toBe(true);
    expect(inBackup.summary).toMatch(/\(000000010000000000000003 in base backup 20261207T055135Z's own pg_wal, not archived: a restore of that backup reads it from there\)$/);
  });
});

describe('committed-locally writes', () => {
  it('counts them as acknowledged and lost, and says how many lost writes carried the warning', () => {
    const warning = 'canceling wait for synchronous replication due to user request DETAIL: The transaction has already committed locally, but might not have been replicated to the standby.';
    const history = historyOf(acked).map((e) => (e.type === 'ok' && 'key' in e && e.key !== 1 ? { ...e, warning } : e));
    const final = finalOf(acked, { '1': 'v1' });
    const result = lostWritesChecker({ history, final, expectations });
    expect(result.valid).toBe(false);
    expect(result.details).toMatchObject({ lost: 2, lostWithWarning: 2, acknowledgedWithWarning: 2 });
    expect(result.summary).toBe(`2 of 3 acknowledged writes are missing from the final state; 2 of them were acknowledged with the warning '${warning}'`);
  });
});

describe('verdict composition', () => {
  const validity = fc.constantFrom<Validity>(true, false, 'unknown', 'skipped');

  it('never passes with a false or unknown check, nor on skipped checks alone (property)', () => {
    fc.assert(
      fc.property(fc.array(validity, { maxLength: 8 }), (values) => {
        const composed = composeValidity(values);
        if (values.includes(false)) expect(composed).toBe(false);
        else if (values.includes('unknown')) expect(composed).toBe('unknown');
        else if (values.includes(true)) expect(composed).toBe(true);
        else expect(composed).toBe('unknown');
      }),
    );
  });

  it('gives a result whose verdict passes only when every non-skipped check held and at least one did (property)', () => {
    fc.assert(
      fc.property(fc.array(validity, { minLength: 1, maxLength: 8 }), (values) => {
        const checks = values.map((valid, i) => ({ name: `c${i}`, valid, summary: '', details: {} }));
        const result = buildResult({ experiment: 'x', seed: 1, runId: null, history: [], final: null, checks, timings: { clusterReadyMs: null, workloadMs: null, totalMs: 0 }, versions: {}, dir: '/tmp' });
        const judged = values.filter((v) => v !== 'skipped');
        expect(result.verdict === 'pass').toBe(judged.length > 0 && judged.every((v) => v === true));
        expect(result.checks.every((c) => c.ok === (c.valid === true))).toBe(true);
      }),
    );
  });

  it('does not pass a run whose faults did not happen, even when no write was lost', () => {
    const history = [...historyOf(acked), ...fault('f0', 'latency', 100, { skipped: 'no sch_netem' })];
    const checks = runCheckers({ history, final: finalOf(acked), expectations });
    expect(composeValidity(checks.map((c) => c.valid))).toBe(false);
    expect(checks.find((c) => c.name === 'lost-writes')!.valid).toBe(true);
  });
});

describe('RPO properties', () => {
  it('counts exactly the lost writes and spans their acknowledgements, earliest to latest', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 60 }), fc.infiniteStream(fc.boolean()), (keys, coin) => {
        const writes: SyntheticWrite[] = keys.sort((a, b) => a - b).map((key) => ({ key, outcome: 'ok', applied: true }));
        const history = historyOf(writes);
        const final = finalOf(writes);
        const removed = writes.filter(() => coin.next().value);
        for (const w of removed) delete final.primary!.rows![String(w.key)];
        const rpo = computeRpo(history, final);
        expect(rpo.writes).toBe(removed.length);
        if (removed.length === 0) expect(rpo.ms).toBe(0);
        else {
          const ackTime = (key: number) => history.find((e) => e.type === 'ok' && 'key' in e && e.key === key)!.time;
          expect(rpo.ms).toBe(Math.round(ackTime(removed.at(-1)!.key) - ackTime(removed[0]!.key)));
        }
      }),
    );
  });
});
