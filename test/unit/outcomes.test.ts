// Four outcomes kept apart: a run is pass, fail or broken (faultline's own failure), and every exit
// code, JUnit file and validate verdict says which; every phase has a bound, and a phase past it is
// judged by the evidence (availability), never a pass and never a hang.

import { describe, expect, it } from 'vitest';
import { buildResult, exitCodeOf, type ExperimentResult } from '../../harness/report/result.ts';
import { toJUnit } from '../../harness/report/junit.ts';
import { availabilityChecker, defaultExpectations, runCheckers } from '../../harness/checkers/index.ts';
import { campaignExitCode, entryOf, summarize } from '../../harness/campaign/summary.ts';
import { validateVerdict, type DrillOutcome } from '../../harness/validate/validate.ts';
import type { Finding } from '../../harness/validate/rules/types.ts';
import { resolveDeadlines, checkDeadlinesSpec } from '../../harness/experiment/deadlines.ts';
import { prepareExperiment, type ExperimentDefinition } from '../../harness/experiment/definition.ts';
import { withDeadline, sleep } from '../../harness/wait.ts';
import { DeadlineError, ConfigError } from '../../harness/errors.ts';
import type { HistoryEvent } from '../../harness/history/events.ts';
import { finalOf, historyOf, type SyntheticWrite } from './checkers/synthetic.ts';

const writes: SyntheticWrite[] = Array.from({ length: 20 }, (_, i) => ({ key: i + 1, outcome: 'ok', applied: true }));
const history = historyOf(writes);
const final = finalOf(writes);

function resultOf(options: { error?: string; history?: HistoryEvent[] } = {}): ExperimentResult {
  const events = options.history ?? history;
  return buildResult({
    experiment: 'healthy',
    seed: 1,
    runId: 'r1',
    history: events,
    final,
    checks: runCheckers({ history: events, final, expectations: defaultExpectations }),
    timings: { clusterReadyMs: 1, workloadMs: 2, totalMs: 3 },
    versions: {},
    dir: '/tmp/x',
    ...(options.error ? { error: options.error } : {}),
  });
}

describe('verdicts', () => {
  it('is broken whenever faultline itself failed, even with every check held', () => {
    const passing = resultOf();
    expect(passing.verdict).toBe('pass');
    const broken = resultOf({ error: "step 'x' failed: boom" });
    expect(broken.checks.every((c) => c.status !== 'fail')).toBe(true);
    expect(broken.verdict).toBe('broken');
    expect(broken.documented.ok).toBe(false);
  });

  it('maps verdicts to exit codes: a failure over a break, a break over a pass', () => {
    expect(exitCodeOf(['pass', 'pass'])).toBe(0);
    expect(exitCodeOf(['pass', 'broken'])).toBe(3);
    expect(exitCodeOf(['broken', 'fail'])).toBe(1);
    expect(exitCodeOf([])).toBe(0);
  });

  it('writes a broken run into JUnit as an error, not a failure', () => {
    const xml = toJUnit([resultOf({ error: 'the cluster did not start' })]);
    expect(xml).toMatch(/failures="0" errors="1"/);
    expect(xml).toMatch(/<error type="broken" message="faultline itself failed \(verdict broken\): the cluster did not start"\/>/);
  });

  it('gives a campaign exit 3 only when every pair that did not pass broke', () => {
    const pass = entryOf(resultOf(), { dir: 'a' });
    const broken = entryOf({ ...resultOf({ error: 'boom' }), seed: 2 }, { dir: 'b' });
    const failed = entryOf({ ...resultOf(), seed: 3, verdict: 'fail' }, { dir: 'c' });
    expect(campaignExitCode(summarize([pass]))).toBe(0);
    expect(summarize([pass, broken]).broken).toBe(1);
    expect(campaignExitCode(summarize([pass, broken]))).toBe(3);
    expect(campaignExitCode(summarize([pass, broken, failed]))).toBe(1);
  });
});

describe('validate verdicts', () => {
  const drill = (name: string, status: DrillOutcome['status']): DrillOutcome => ({ name, title: name, status, seed: 1 });
  const error = { rule: 'fsync-off', severity: 'error' } as Finding;
  const warning = { rule: 'archive-timeout-zero', severity: 'warning' } as Finding;

  it('exits 3, never reading as unsafe, when every drill broke', () => {
    const v = validateVerdict([warning], [drill('crash', 'broken'), drill('restore', 'broken')], false);
    expect(v).toMatchObject({ verdict: 'broken', exitCode: 3 });
    expect(v.note).toMatch(/every drill that ran broke, so the configuration was neither shown safe nor unsafe: 2 drill\(s\) broke .*crash, restore/);
  });

  it('names the drills that broke beside the ones that passed, and is no pass', () => {
    const v = validateVerdict([], [drill('crash', 'pass'), drill('restore', 'broken')], false);
    expect(v).toMatchObject({ verdict: 'broken', exitCode: 3 });
    expect(v.note).toMatch(/no drill failed, but 1 of 2 broke, so the configuration was not shown safe: .*restore/);
  });

  it('fails on an error finding or a failed drill, whatever else broke', () => {
    expect(validateVerdict([error], [drill('crash', 'broken')], false)).toMatchObject({ verdict: 'fail', exitCode: 1 });
    expect(validateVerdict([], [drill('crash', 'fail'), drill('restore', 'broken')], false)).toMatchObject({ verdict: 'fail', exitCode: 1 });
  });

  it('passes only when every drill that ran passed, and fails when none could run', () => {
    expect(validateVerdict([warning], [drill('crash', 'pass'), drill('restore', 'unavailable')], false)).toEqual({ verdict: 'pass', exitCode: 0 });
    expect(validateVerdict([], [drill('crash', 'unavailable')], false)).toMatchObject({ verdict: 'fail', exitCode: 1 });
    expect(validateVerdict([], [], true)).toEqual({ verdict: 'pass', exitCode: 0 });
  });
});

describe('deadlines', () => {
  const base: ExperimentDefinition = {
    name: 'bounded',
    description: 'x',
    topology: { domains: ['san-a', 'san-b'], postgres: { nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }, { name: 'pg-replica', role: 'replica', domain: 'san-b' }] } },
    workload: { duration: '10s' },
  };

  it('derives each bound from the experiment: the workload from its duration, faults, recovery and backup', () => {
    const d = resolveDeadlines({}, { durationMs: 10_000, planned: [{ durationMs: 4000 } as never, { durationMs: 2000 } as never], recovery: {}, freshBackup: true });
    expect(d).toEqual({ clusterStart: 120_000, prepare: 30_000, workload: 10_000 + 6000 + 30_000 + 60_000 + 120_000, recovery: 60_000, rehearsal: 90_000, finalRead: 120_000, cleanup: 60_000 });
    const runbook = resolveDeadlines({}, { durationMs: 5000, planned: [], recovery: { runbookBudgetMs: 300_000 }, freshBackup: false });
    expect(runbook.recovery).toBe(330_000);
    expect(runbook.workload).toBe(5000 + 30_000 + 330_000);
  });

  it('takes the experiment own bounds, and refuses unknown phases and bad durations', () => {
    const e = prepareExperiment({ ...base, deadlines: { finalRead: '90s', workload: 20_000 } });
    expect(resolveDeadlines(e.deadlines, { durationMs: e.durationMs, planned: [], freshBackup: false })).toMatchObject({ finalRead: 90_000, workload: 20_000, cleanup: 60_000 });
    expect(() => prepareExperiment({ ...base, deadlines: { finalReed: '90s' } as never })).toThrow(/deadlines.*finalReed|finalReed.*(did you mean|not)/);
    expect(() => checkDeadlinesSpec({ cleanup: 'soon' }, 'experiment x')).toThrow(ConfigError);
    expect(() => checkDeadlinesSpec({ cleanup: 'soon' }, 'experiment x')).toThrow(/deadlines.cleanup must be a positive duration like '90s' or '5m', got "soon"/);
  });

  it('ends a phase at its bound with what it waited for and what was last seen', async () => {
    const never = new Promise<void>(() => {});
    const error = await withDeadline(never, { phase: 'the final read', ms: 30, awaited: 'the primary to answer', lastSeen: () => 'reading pg-replica' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineError);
    expect((error as Error).message).toBe("the final read did not end within its bound of 30 ms: it was waiting for the primary to answer (last seen: reading pg-replica)");
    await expect(withDeadline(sleep(5).then(() => 7), { phase: 'p', ms: 1000, awaited: 'x' })).resolves.toBe(7);
  });
});

describe('availability', () => {
  const stalled = (evidence: string[]): HistoryEvent => ({
    type: 'run',
    phase: 'stalled',
    time: 50,
    name: "the ledger's set-up did not end within its bound of 30 s: it was waiting for the primary to create the workload's ledger",
    deadline: "the ledger's set-up",
    boundMs: 30_000,
    awaited: "the primary to create the workload's ledger",
    evidence,
  });

  it('is judged only where a phase passed its bound', () => {
    expect(runCheckers({ history, final, expectations: defaultExpectations }).map((c) => c.name)).not.toContain('availability');
    const checks = runCheckers({ history: [...history, stalled([])], final, expectations: defaultExpectations });
    expect(checks[0]!.name).toBe('availability');
  });

  it('fails when the servers showed they stopped serving, quoting them', () => {
    const check = availabilityChecker({ history: [stalled(["pg-primary: backend 7 has waited 30.0 s on SyncRep (IPC) in 'CREATE TABLE x'"])], final: null, expectations: defaultExpectations });
    expect(check.valid).toBe(false);
    expect(check.summary).toMatch(/^the system under test stopped serving: the ledger's set-up did not end within its bound of 30 s.*the servers showed: pg-primary: backend 7 has waited 30.0 s on SyncRep/);
  });

  it('cannot tell (never a pass) when nothing showed the system had stopped', () => {
    const check = availabilityChecker({ history: [stalled([])], final: null, expectations: defaultExpectations });
    expect(check.valid).toBe('unknown');
    expect(check.summary).toMatch(/nothing the servers showed says the system under test had stopped serving/);
  });
});
