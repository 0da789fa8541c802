import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildResult } from '../../harness/report/result.ts';
import { recheckRun } from '../../harness/report/recheck.ts';
import { documentedOutcome, runCheckers, defaultExpectations } from '../../harness/checkers/index.ts';
import { prepareExperiment } from '../../harness/experiment/definition.ts';
import sidekickNaive from '../../experiments/sidekick-naive.ts';
import { formatSummary, formatComparison, renderHtml, toJUnit } from '../../harness/report/index.ts';
import type { HistoryEvent } from '../../harness/history/events.ts';
import { finalOf, historyOf, type SyntheticWrite } from './checkers/synthetic.ts';

const writes: SyntheticWrite[] = Array.from({ length: 40 }, (_, i) => ({ key: i + 1, outcome: 'ok', applied: true }));
const faults: HistoryEvent[] = [
  { type: 'fault', phase: 'start', id: 'f0', name: 'domain-loss', target: 'domain:san-a', time: 30, disruptive: true },
  { type: 'fault', phase: 'active', id: 'f0', name: 'domain-loss', target: 'domain:san-a', time: 30.5, detail: 'lost <everything>' },
  { type: 'fault', phase: 'end', id: 'f0', name: 'domain-loss', target: 'domain:san-a', time: 31, detail: 'lost <everything>' },
  { type: 'recovery', phase: 'start', name: 'restore', time: 40 },
  { type: 'recovery', phase: 'end', name: 'restore', time: 45, outcome: 'failed', detail: 'no base backup' },
];
const history = [...historyOf(writes), ...faults].sort((a, b) => a.time - b.time);
const final = finalOf(writes);
for (const key of [38, 39, 40]) delete final.primary!.rows![String(key)];

function result(name: string) {
  return buildResult({
    experiment: name,
    seed: 9,
    runId: 'abcd1234',
    history,
    final,
    checks: runCheckers({ history, final, expectations: defaultExpectations }),
    timings: { clusterReadyMs: 1000, workloadMs: 5000, totalMs: 8000 },
    versions: { postgres: 'PostgreSQL 15.18' },
    dir: '/tmp/x',
  });
}

describe('reports', () => {
  const r = result('naive');

  it('builds a failing result with the lost writes, the failed restore and the fault', () => {
    expect(r.verdict).toBe('fail');
    expect(r.writes).toMatchObject({ acknowledged: 40, lost: 3 });
    expect(r.restore.completed).toBe(false);
    expect(r.faults).toEqual([{ name: 'domain-loss', target: 'domain:san-a', startMs: 30, endMs: 31, detail: 'lost <everything>' }]);
  });

  it('writes one JUnit test case per check, failures for failed and unknown checks, escaped', () => {
    const xml = toJUnit([r]);
    expect(xml.match(/<testcase /g)).toHaveLength(r.checks.length);
    expect(xml).toMatch(/<testcase classname="faultline.naive" name="lost-writes" time="[\d.]+">/);
    expect(xml).toMatch(/<failure type="failed" message="3 of 40 acknowledged writes are missing from the final state">/);
    expect(xml).not.toContain('<everything>');
  });

  it('shows a skipped check as skipped everywhere, never as ok: a JUnit skipped case, "skip" in the terminal, "skipped" on the page', () => {
    const rpo = r.checks.find((c) => c.name === 'rpo')!;
    expect(rpo).toMatchObject({ status: 'skipped', ok: false, valid: 'skipped' });
    const xml = toJUnit([r]);
    expect(xml).toMatch(/<testcase classname="faultline.naive" name="rpo" time="[\d.]+">\s*<skipped message="RPO 3 writes over \d+ ms \(a measure: the experiment sets no RPO budget\)"\/>\s*<\/testcase>/);
    expect(xml).toMatch(new RegExp(`skipped="${r.checks.filter((c) => c.valid === 'skipped').length}"`));
    expect(formatSummary(r)).toMatch(/^ {2}skip rpo: RPO 3 writes/m);
    expect(renderHtml(r, history)).toMatch(/<td>rpo<\/td><td><span class="skip">skipped<\/span><\/td>/);
  });

  it('puts experiments side by side', () => {
    const table = formatComparison([r, result('hardened')]);
    expect(table.split('\n')[0]).toMatch(/^\s+naive\s+hardened$/);
    expect(table).toMatch(/restore completed\s+NO\s+NO/);
    expect(table).toMatch(/lost\s+3\s+3/);
  });

  it('renders a self-contained page with the timeline, the lost writes, the checks and the recovery', () => {
    const html = renderHtml(r, history);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(html).toContain('<svg');
    expect(html).toContain('3 lost writes, shown when they were acknowledged');
    expect(html).toContain('domain-loss on domain:san-a');
    expect(html).toContain('lost &lt;everything&gt;');
    expect(html).toContain('no base backup');
    for (const check of r.checks) expect(html).toContain(`<td>${check.name}</td>`);
  });

  it('shows the fresh backup in the timeline and the recovery table, and the restore rehearsal in the table', () => {
    const backup: HistoryEvent[] = [
      { type: 'backup', phase: 'start', time: 5 },
      { type: 'backup', phase: 'end', time: 20, outcome: 'ok', detail: 'base backup verified by pg_verifybackup' },
    ];
    const withBackup = [...backup, ...history].sort((a, b) => a.time - b.time);
    const html = renderHtml(r, withBackup);
    expect(html).toMatch(/<title>fresh backup \(5–20 ms\)<\/title>/);
    expect(html).toMatch(/<td>fresh backup<\/td><td><span class="ok">ok<\/span><\/td><td>20 ms<\/td><td>base backup verified by pg_verifybackup<\/td>/);
    const rehearsal: HistoryEvent[] = [
      { type: 'rehearsal', phase: 'start', time: 9000, cutoff: 10 },
      { type: 'rehearsal', phase: 'end', time: 9500, outcome: 'failed', detail: 'the WAL chain is broken', cutoff: 10 },
    ];
    const rehearsed = renderHtml(r, [...withBackup, ...rehearsal]);
    expect(rehearsed).toMatch(/<title>restore rehearsal \(9000–9500 ms\)<\/title>/);
    expect(rehearsed).toMatch(/<td>restore rehearsal<\/td><td><span class="bad">failed<\/span><\/td><td>9500 ms<\/td><td>the WAL chain is broken<\/td>/);
  });

  it('draws no latency where no write was acknowledged (a stall), instead of a drop to zero', () => {
    // Writes acknowledged early and late, none in between: the latency lines have two pieces.
    const ops: HistoryEvent[] = [];
    for (const [key, t] of [[1, 100], [2, 200], [3, 2900], [4, 3000]] as const) {
      ops.push({ type: 'invoke', process: 0, f: 'write', key, value: 'v', node: 'pg', time: t - 5 });
      ops.push({ type: 'ok', process: 0, f: 'write', key, value: 'v', node: 'pg', time: t });
    }
    const html = renderHtml(r, ops);
    const latency = [...html.matchAll(/<path d="([^"]*)" fill="none" stroke="#457b9d"/g)].map((m) => m[1]!);
    expect(latency).toHaveLength(1);
    expect(latency[0]!.match(/M/g)).toHaveLength(2);
  });
});

describe('checking a run again from its files', () => {
  it('leaves the run’s files alone unless asked to write them, and never touches the history; a run that never ended is broken', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-recheck-'));
    const lines = history.map((e) => JSON.stringify(e)).join('\n');
    writeFileSync(join(dir, 'history.jsonl'), `${JSON.stringify({ type: 'run', phase: 'start', experiment: 'x', seed: 3, time: 0 })}\n${lines}\n`);
    writeFileSync(join(dir, 'final-state.json'), JSON.stringify(final));
    const checked = recheckRun(dir);
    expect(checked.result).toMatchObject({ schemaVersion: 2, experiment: 'x', seed: 3, verdict: 'broken' });
    expect(existsSync(join(dir, 'result.json'))).toBe(false);
    recheckRun(dir, { write: true });
    expect(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'))).toMatchObject({ schemaVersion: 2, experiment: 'x' });
    expect(readFileSync(join(dir, 'history.jsonl'), 'utf8').split('\n')[1]).toBe(lines.split('\n')[0]);
  });
});

describe('JUnit for CI', () => {
  it('carries the seed, run id and versions, a time per case, and caps a long failure body', () => {
    const r = result('naive');
    const xml = toJUnit([r]);
    expect(xml).toContain('<property name="seed" value="9"/>');
    expect(xml).toContain('<property name="runId" value="abcd1234"/>');
    expect(xml).toContain('<property name="version.postgres" value="PostgreSQL 15.18"/>');
    expect(xml).toMatch(/<testcase classname="faultline.naive" name="lost-writes" time="\d+\.\d{3}">/);
    const many = { ...r, checks: [{ ...r.checks[0]!, valid: false as const, details: { lostKeys: Array.from({ length: 10_000 }, (_, i) => i) } }] };
    const capped = toJUnit([many]);
    expect(capped).toContain('… 10000 in all');
    expect(capped.split('\n').length).toBeLessThan(60);
  });
});

describe('experiments judged by what they document (--as-documented)', () => {
  const checks = (valids: Record<string, boolean | 'unknown' | 'skipped'>) => Object.entries(valids).map(([name, valid]) => ({ name, valid, summary: '', details: {} }));

  it('holds a safe setup to a pass', () => {
    expect(documentedOutcome(undefined, checks({ 'lost-writes': true, rpo: 'skipped' }))).toMatchObject({ ok: true });
    expect(documentedOutcome(undefined, checks({ 'lost-writes': false }))).toMatchObject({ ok: false, why: 'a setup documented as safe did not pass (lost-writes)' });
    expect(documentedOutcome(undefined, checks({ 'lost-writes': true }), 'cluster did not start')).toMatchObject({ ok: false });
  });

  it('holds a demonstration to the failures it names', () => {
    const shows = { failing: ['lost-writes', 'restore-completed'], why: 'one SAN for everything' };
    expect(documentedOutcome(shows, checks({ 'lost-writes': false, 'restore-completed': false, integrity: 'unknown' })).ok).toBe(true);
    const half = documentedOutcome(shows, checks({ 'lost-writes': false, 'restore-completed': true }));
    expect(half).toEqual({ ok: false, why: 'documented to fail lost-writes, restore-completed (one SAN for everything), but restore-completed did not fail' });
  });

  it('lets a sometimes-danger pass, but not fail anything else', () => {
    const shows = { failing: ['lost-writes'], why: 'the last segment', always: false };
    expect(documentedOutcome(shows, checks({ 'lost-writes': true })).ok).toBe(true);
    expect(documentedOutcome(shows, checks({ 'lost-writes': false })).ok).toBe(true);
    expect(documentedOutcome(shows, checks({ 'lost-writes': false, integrity: false }))).toMatchObject({ ok: false, why: 'only lost-writes may fail (the last segment), but integrity did' });
  });

  it('refuses a demonstration that names a check that does not exist', () => {
    expect(() => prepareExperiment({ ...sidekickNaive, shows: { failing: ['lost-write'], why: 'x' } })).toThrow(/shows\.failing\[0\]: "lost-write" is not a check/);
  });
});
