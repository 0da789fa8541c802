// The HA manager's checks on synthetic histories. split-brain: a write acknowledged by a server
// after the manager promoted another one in its place is named, with whether it survived; writes
// before any promotion, or by the promoted server, never are. manager-acted: whether the manager
// failed over, how long after the first fault it found the primary down and promoted, and whether
// it settled. Both run only where a manager chose the primary.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkersFor, failoverChoiceChecker, managerActedChecker, splitBrainChecker, type Expectations, type FinalState } from '../../../harness/checkers/index.ts';
import type { FaultEvent, HistoryEvent, ManagerEvent, OpEvent, RoleEvent } from '../../../harness/history/events.ts';

const expectations: Expectations = { maxLostWrites: 0, restoreMustComplete: true };
const MANAGER: HistoryEvent = { type: 'manager', by: 'sentinel', what: 'watching', detail: 'Redis Sentinel beside each server', time: 0 };

/** A write of `key` by `node`, invoked at `time` and acknowledged 1 ms later. */
function write(key: number, node: string, time: number): OpEvent[] {
  const base = { process: 1, f: 'write' as const, key, value: `v${key}`, node };
  return [{ ...base, type: 'invoke', time }, { ...base, type: 'ok', time: time + 1 }];
}

const promote = (node: string, previous: string, time: number): RoleEvent => ({ type: 'role', node, role: 'primary', by: 'sentinel', previous, time });

function finalWith(keys: number[]): FinalState {
  return { time: 1e9, primary: { node: 'b', rows: Object.fromEntries(keys.map((k) => [String(k), `v${k}`])), tables: {} }, replicas: [], integrity: [], probe: { ok: true, time: 1e9, latencyMs: 1, node: 'b' } };
}

describe('split-brain', () => {
  it('is skipped without an HA manager, and holds when the manager promoted no one', () => {
    const history = [...write(1, 'a', 10), ...write(2, 'a', 20)];
    expect(splitBrainChecker({ history, final: finalWith([1, 2]), expectations })).toMatchObject({ valid: 'skipped', summary: 'no HA manager in this run: faultline chose the primary itself' });
    expect(splitBrainChecker({ history: [MANAGER, ...history], final: finalWith([1, 2]), expectations })).toMatchObject({ valid: true, summary: 'the HA manager promoted no server: one primary acknowledged every write' });
  });

  it('names the writes a deposed primary acknowledged after the promotion, and how many are lost', () => {
    const history: HistoryEvent[] = [MANAGER, ...write(1, 'a', 10), promote('b', 'a', 100), ...write(2, 'a', 110), ...write(3, 'b', 120), ...write(4, 'a', 130), ...write(5, 'b', 140)];
    const result = splitBrainChecker({ history, final: finalWith([1, 3, 5]), expectations });
    expect(result.valid).toBe(false);
    expect(result.summary).toBe('two primaries acknowledged writes at once: 2 writes were acknowledged by a deposed primary after sentinel promoted b over a at 100 ms (2 by a from 111 to 131 ms); 2 of them are lost (keys 2, 4)');
    expect(result.details).toMatchObject({ deposed: [{ key: 2, node: 'a', time: 111 }, { key: 4, node: 'a', time: 131 }], lost: [2, 4] });
    // The same writes surviving (a manager that merged them back) are still two primaries at once.
    expect(splitBrainChecker({ history, final: finalWith([1, 2, 3, 4, 5]), expectations }).summary).toMatch(/; all of them survived \(keys 2, 4\)$/);
    expect(splitBrainChecker({ history, final: null, expectations }).summary).toMatch(/the final state could not be read to tell how many survived$/);
  });

  it('under an RPO budget, holds when the deposed writes are all lost within it, still naming them; fails past it, or when some survived', () => {
    const history: HistoryEvent[] = [MANAGER, ...write(1, 'a', 10), promote('b', 'a', 100), ...write(2, 'a', 110), ...write(3, 'a', 130), ...write(4, 'b', 140)];
    // Lost: 2 and 3; the last write that survived before them was 1 (acknowledged at 11): 120 ms of data.
    const within = splitBrainChecker({ history, final: finalWith([1, 4]), expectations: { ...expectations, rpoBudgetMs: 200 } });
    expect(within.valid).toBe(true);
    expect(within.summary).toBe('two primaries acknowledged writes at once: 2 writes were acknowledged by a deposed primary after sentinel promoted b over a at 100 ms (2 by a from 111 to 131 ms); 2 of them are lost (keys 2, 3); within the RPO budget (120 ms of data lost, budget 200 ms)');
    expect(splitBrainChecker({ history, final: finalWith([1, 4]), expectations: { ...expectations, rpoBudgetMs: 100 } }).valid).toBe(false);
    expect(splitBrainChecker({ history, final: finalWith([1, 2, 4]), expectations: { ...expectations, rpoBudgetMs: 10_000 } }).valid).toBe(false);
    expect(splitBrainChecker({ history, final: null, expectations: { ...expectations, rpoBudgetMs: 10_000 } }).valid).toBe(false);
  });

  it('holds when every write after a promotion came from the promoted server, back and forth', () => {
    const history: HistoryEvent[] = [MANAGER, ...write(1, 'a', 10), promote('b', 'a', 100), ...write(2, 'b', 110), promote('a', 'b', 200), ...write(3, 'a', 210)];
    expect(splitBrainChecker({ history, final: finalWith([1, 2, 3]), expectations })).toMatchObject({
      valid: true,
      summary: 'every write acknowledged after a promotion came from the promoted server (sentinel promoted b over a at 100 ms; sentinel promoted a over b at 200 ms)',
    });
  });

  it('flags exactly the writes acknowledged by another server than the last one promoted (property)', () => {
    const arbitrary = fc.record({
      writes: fc.array(fc.record({ node: fc.constantFrom('a', 'b', 'c'), time: fc.integer({ min: 0, max: 1000 }) }), { maxLength: 60 }),
      promotions: fc.array(fc.record({ node: fc.constantFrom('a', 'b', 'c'), time: fc.integer({ min: 0, max: 1000 }) }), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(arbitrary, ({ writes, promotions }) => {
        const history: HistoryEvent[] = [MANAGER, ...promotions.map((p) => promote(p.node, '?', p.time + 0.5)), ...writes.flatMap((w, i) => write(i + 1, w.node, w.time))].sort((x, y) => x.time - y.time);
        const result = splitBrainChecker({ history, final: finalWith([]), expectations });
        const sorted = [...promotions].sort((x, y) => x.time - y.time);
        const expected = writes.flatMap((w, i) => {
          const last = sorted.filter((p) => p.time + 0.5 <= w.time + 1).at(-1);
          return last && last.node !== w.node ? [i + 1] : [];
        });
        const flagged = result.valid === false ? (result.details.deposed as Array<{ key: number }>).map((d) => d.key).sort((x, y) => x - y) : [];
        expect(flagged).toEqual(expected);
      }),
    );
  });

  it('runs only where an HA manager chose the primary', () => {
    const final = finalWith([1]);
    expect(checkersFor({ history: write(1, 'a', 0), final, expectations }).map(([name]) => name)).not.toContain('split-brain');
    expect(checkersFor({ history: [MANAGER, ...write(1, 'a', 0)], final, expectations }).map(([name]) => name)).toEqual(expect.arrayContaining(['split-brain', 'manager-acted']));
  });
});

describe('manager-acted', () => {
  const fault = (phase: FaultEvent['phase'], time: number): FaultEvent => ({ type: 'fault', id: 'f0', phase, name: 'partition', target: 'a~b', time });
  const said = (what: ManagerEvent['what'], detail: string, time: number, node = 'a'): ManagerEvent => ({ type: 'manager', by: 'sentinel', what, detail, node, time });
  const settled = said('settled', 'Sentinels see b as the primary', 5000);

  it('measures detection and promotion from the first fault that took effect, and says whether the manager settled', () => {
    const history: HistoryEvent[] = [MANAGER, fault('start', 1000), fault('active', 1010), said('said', '+sdown master faultline 10.0.0.2 6379', 2000), said('detected', '+odown master faultline 10.0.0.2 6379 #quorum 2/2', 2100), promote('b', 'a', 3010), fault('end', 4000), settled];
    const result = managerActedChecker({ history, final: null, expectations });
    expect(result).toMatchObject({ valid: true, details: { detectionMs: 1090, promotionMs: 2000, said: ['+sdown', '+odown'], settled: true } });
    expect(result.summary).toBe('sentinel failed over: it found a down 1090 ms after the first fault that took effect (partition on a~b at 1010 ms) and promoted b in place of a 2000 ms after it; after the workload it settled: Sentinels see b as the primary');
  });

  it('says a promotion whose detection faultline never recorded as such, and does not deny the detection', () => {
    const history: HistoryEvent[] = [MANAGER, fault('start', 1000), fault('active', 1010), promote('b', 'a', 3010), fault('end', 4000), settled];
    const result = managerActedChecker({ history, final: null, expectations });
    expect(result).toMatchObject({ valid: true, details: { promotionMs: 2000 } });
    expect(result.details.detectionMs).toBeUndefined();
    expect(result.summary).toBe(
      'sentinel failed over: it promoted b in place of a 2000 ms after the first fault that took effect (partition on a~b at 1010 ms) (faultline recorded no report of the primary found down before that); after the workload it settled: Sentinels see b as the primary',
    );
  });

  it('measures from the first disruptive fault when there is one (a crash after its Sentinels were stopped)', () => {
    const stop: FaultEvent[] = [{ type: 'fault', id: 'f1', phase: 'start', name: 'manager-stop', target: 'b', time: 500 }, { type: 'fault', id: 'f1', phase: 'active', name: 'manager-stop', target: 'b', time: 510 }];
    const crash: FaultEvent[] = [{ type: 'fault', id: 'f2', phase: 'start', name: 'process-crash', target: 'a', disruptive: true, time: 1000 }, { type: 'fault', id: 'f2', phase: 'active', name: 'process-crash', target: 'a', disruptive: true, time: 1010 }];
    const history: HistoryEvent[] = [MANAGER, ...stop, ...crash, said('detected', '+odown master faultline 10.0.0.2 6379 #quorum 2/2', 5010), promote('b', 'a', 6010), settled];
    expect(managerActedChecker({ history, final: null, expectations }).summary).toMatch(/^sentinel failed over: it found a down 4000 ms after the first disruptive fault \(process-crash on a at 1010 ms\) and promoted b in place of a 5000 ms after it;/);
  });

  it('says a manager that never failed over did not, as a measure, and one that did not settle', () => {
    const history: HistoryEvent[] = [MANAGER, fault('start', 1000), fault('active', 1010), fault('end', 4000), said('unsettled', 'Sentinels see a and b as the primary', 5000)];
    const result = managerActedChecker({ history, final: null, expectations });
    expect(result.valid).toBe('skipped');
    expect(result.summary).toBe('sentinel did not fail over: it never found the primary down after the first fault that took effect (partition on a~b at 1010 ms), and promoted no server (a measure); after the workload it did NOT settle: Sentinels see a and b as the primary');
  });

  it('tells a server demoted and promoted again (its leader lost the DCS) from a failover', () => {
    const lossOfDcs: FaultEvent[] = [{ type: 'fault', id: 'f1', phase: 'start', name: 'manager-stop', target: 'b', time: 1000 }, { type: 'fault', id: 'f1', phase: 'active', name: 'manager-stop', target: 'b', time: 1010 }];
    const history = [MANAGER, ...lossOfDcs, promote('a', 'a', 9000), settled];
    const result = managerActedChecker({ history, final: null, expectations });
    expect(result.valid).toBe('skipped');
    expect(result.summary).toMatch(/^sentinel did not fail over to another server: it never found the primary down after the first fault that took effect \(manager-stop on b at \d+ ms\), demoted a and promoted it again \d+ ms after it \(a measure\); after the workload it settled/);
    expect(splitBrainChecker({ history: [MANAGER, ...write(1, 'a', 500), promote('a', 'a', 9000), ...write(2, 'a', 9500)], final: finalWith([1, 2]), expectations }).summary).toBe('every write acknowledged after a promotion came from the promoted server (sentinel promoted a again at 9000 ms)');
  });

  it('reports a promotion with no fault, and is skipped without a manager', () => {
    expect(managerActedChecker({ history: [MANAGER, promote('b', 'a', 300), settled], final: null, expectations }).summary).toBe('sentinel promoted b at 300 ms with no fault injected; after the workload it settled: Sentinels see b as the primary');
    expect(managerActedChecker({ history: [MANAGER, settled], final: null, expectations })).toMatchObject({ valid: 'skipped', summary: 'sentinel had no fault to act on, and promoted no server; after the workload it settled: Sentinels see b as the primary' });
    expect(managerActedChecker({ history: write(1, 'a', 0), final: null, expectations }).valid).toBe('skipped');
  });
});

describe('failover-choice', () => {
  const chose = (node: string, positions: Record<string, number>, time = 3000): ManagerEvent => ({ type: 'manager', by: 'sentinel', what: 'chose', node, positions, detail: '+selected-slave …', time });

  it('holds when the manager chose the most advanced candidate, and says where each stood', () => {
    expect(failoverChoiceChecker({ history: [MANAGER, chose('b', { b: 900, c: 900 })], final: null, expectations })).toMatchObject({
      valid: true,
      summary: 'sentinel chose b at 3000 ms, the most advanced candidate (offset 900; c at 900)',
    });
  });

  it('fails a choice behind another candidate when writes acknowledged before it are lost, saying by how much', () => {
    const history = [MANAGER, ...write(1, 'a', 1000), ...write(2, 'a', 2000), chose('b', { b: 700, c: 900 })];
    const result = failoverChoiceChecker({ history, final: finalWith([1]), expectations });
    expect(result.valid).toBe(false);
    expect(result.summary).toBe('sentinel chose b at 3000 ms at offset 700, behind c at 900 (200 more): what only c had received is lost with the choice, and 1 write acknowledged before it is missing from the final state');
  });

  it('holds a choice behind another candidate when every write acknowledged before it was kept (what only the other had was never acknowledged), and cannot tell without a final state', () => {
    const history = [MANAGER, ...write(1, 'a', 1000), ...write(2, 'a', 2000), chose('b', { b: 700, c: 900 }), ...write(3, 'b', 4000)];
    // Key 3, acknowledged after the choice, is not the choice's to answer for.
    expect(failoverChoiceChecker({ history, final: finalWith([1, 2]), expectations })).toMatchObject({
      valid: true,
      summary: 'sentinel chose b at 3000 ms at offset 700, behind c at 900 (200 more), but every write acknowledged before the choice is in the final state: what only c had received was never acknowledged',
    });
    expect(failoverChoiceChecker({ history, final: null, expectations })).toMatchObject({
      valid: 'unknown',
      summary: 'sentinel chose b at 3000 ms at offset 700, behind c at 900 (200 more); whether acknowledged writes went with what only c had received could not be told (no final state)',
    });
  });

  it('cannot tell when the chosen server could not be read, and is skipped without a choice or a manager', () => {
    expect(failoverChoiceChecker({ history: [MANAGER, chose('b', { c: 900 })], final: null, expectations }).valid).toBe('unknown');
    expect(failoverChoiceChecker({ history: [MANAGER], final: null, expectations })).toMatchObject({ valid: 'skipped', summary: 'the HA manager chose no server to promote' });
    expect(failoverChoiceChecker({ history: [chose('b', { b: 1 })], final: null, expectations }).valid).toBe('skipped');
  });
});
