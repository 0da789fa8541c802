// A drill's reason comes from its own evidence: a preflight finding is named as the cause only when
// the run shows its mechanism at work, never because a keyword fits whatever failed. Results are
// built the way a run builds them (runCheckers, then buildResult) from hand-written histories.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultExpectations, runCheckers } from '../../../harness/checkers/index.ts';
import type { HistoryEvent } from '../../../harness/history/events.ts';
import type { FinalState, RestoreEvidence } from '../../../harness/history/final-state.ts';
import { buildResult } from '../../../harness/report/index.ts';
import { explainDrill } from '../../../harness/validate/explain.ts';
import { validateDrills, loadUserConfig, runPreflight } from '../../../harness/validate/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'faultline-explain-'));
let files = 0;
function configured(conf: string, topology?: object) {
  const n = files++;
  writeFileSync(join(dir, `${n}.conf`), conf);
  if (topology) writeFileSync(join(dir, `${n}.json`), JSON.stringify(topology));
  const loaded = loadUserConfig({ postgresConf: join(dir, `${n}.conf`), ...(topology ? { topology: join(dir, `${n}.json`) } : {}) });
  return { loaded, findings: runPreflight(loaded.config) };
}

/** Writes `keys` acknowledged on `node`, 1 ms apart from `from`. */
function writes(keys: number[], node: string, from: number): HistoryEvent[] {
  return keys.flatMap((key, i) => [
    { type: 'invoke', process: key, f: 'write', key, value: `v${key}`, node, time: from + 2 * i },
    { type: 'ok', process: key, f: 'write', key, value: `v${key}`, node, time: from + 2 * i + 1 },
  ]) as HistoryEvent[];
}
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const rows = (keys: number[]) => Object.fromEntries(keys.map((k) => [String(k), `v${k}`]));

function fault(name: string, target: string, at: number, applied = true): HistoryEvent[] {
  const base = { type: 'fault' as const, name, target, id: `${name}-${at}`, disruptive: true };
  return [
    { ...base, phase: 'start', time: at },
    ...(applied ? [{ ...base, phase: 'active' as const, time: at + 1 }] : []),
    { ...base, phase: 'end', time: at + 2, ...(applied ? {} : { skipped: 'not on this machine' }) },
  ];
}

function resultOf(history: HistoryEvent[], final: FinalState) {
  const sorted = [...history].sort((a, b) => a.time - b.time);
  const checks = runCheckers({ history: sorted, final, expectations: defaultExpectations });
  return buildResult({ experiment: 'validate-drill', seed: 1, runId: 'r', history: sorted, final, checks, timings: { clusterReadyMs: 1, workloadMs: 1, totalMs: 1 }, versions: {}, dir });
}

function finalState(primary: string, keys: number[], extra: Partial<FinalState> = {}): FinalState {
  return {
    time: 1000,
    primary: { node: primary, rows: rows(keys), tables: { faultline_ledger: 'h' } },
    replicas: [],
    integrity: [{ tool: 'pg_amcheck', node: primary, exitCode: 0, output: '', verdict: 'ok' }],
    probe: { ok: true, time: 999, latencyMs: 2, node: primary },
    ...extra,
  };
}

const drill = (name: string, loaded: ReturnType<typeof configured>['loaded']) => validateDrills(loaded.spec).find((d) => d.name === name)!;

describe("the restore drill with archive_command = '/usr/bin/true'", () => {
  const { loaded, findings } = configured("wal_level = replica\narchive_mode = on\narchive_command = '/usr/bin/true'\n");
  const noWal: RestoreEvidence = { node: 'pg-restored', by: 'restore', backup: '20261206T063114Z', walSegments: 0, reachedLsn: '0/3000000', archive: 'none', how: 'pg-archive receives no WAL, only base backups' };
  // Writes 1..3 before the base backup, 4..20 after it; the primary's volume is lost at 100; the
  // restore (100..120) brings back the backup alone; writes 21..25 go to the restored primary.
  const history: HistoryEvent[] = [
    ...writes(range(1, 20), 'pg-primary', 0),
    ...fault('volume-loss', 'pg-primary', 100),
    { type: 'recovery', phase: 'start', name: 'restore', time: 105 },
    { type: 'recovery', phase: 'end', name: 'restore', time: 120, outcome: 'ok', detail: 'restored pg-restored in backup-site from base backup 20261206T063114Z alone: the archive on pg-archive held no WAL segment after it' },
    ...writes(range(21, 25), 'pg-restored', 130),
  ];

  it('names the missing WAL, counted in the archive, then the finding whose mechanism that is', () => {
    const result = resultOf(history, finalState('pg-restored', [...range(1, 3), ...range(21, 25)], { restores: [noWal] }));
    expect(explainDrill(drill('restore', loaded), result, findings, loaded)).toBe(
      "17 of 25 acknowledged writes were lost: the archive held no WAL segment after the base backup: archive_command is '/usr/bin/true': the archive never receives WAL",
    );
  });

  it("does not name the archive_command when the run's evidence does not show the archive lacked WAL", () => {
    // The restore failed on its own (faultline's copy), before it could count anything: the reason is that failure, as the checks saw it.
    const failed = history.map((e) => (e.type === 'recovery' && e.phase === 'end' ? { ...e, outcome: 'failed' as const, detail: "copying from 'pg-archive' to 'pg-restored' failed: tar exited 2" } : e));
    const result = resultOf(failed.filter((e) => !('node' in e && e.node === 'pg-restored')), { ...finalState('pg-primary', []), probe: null, primary: { node: 'pg-primary', error: 'lost' } });
    const why = explainDrill(drill('restore', loaded), result, findings, loaded);
    expect(why).toBe("recovery failed: restore: copying from 'pg-archive' to 'pg-restored' failed: tar exited 2");
    expect(why).not.toContain('archive_command');
  });
});

describe('a finding is the cause only when the drill shows its mechanism', () => {
  const { loaded, findings } = configured('wal_level = replica\nsynchronous_commit = off\nfsync = off\n');
  const crash = (lostKeys: number[]) => {
    const history = [...writes(range(1, 10), 'pg-primary', 0), ...fault('process-crash', 'pg-primary', 30), ...writes(range(11, 12), 'pg-primary', 40)];
    return resultOf(history, finalState('pg-primary', range(1, 12).filter((k) => !lostKeys.includes(k))));
  };

  it('names synchronous_commit = off for writes lost to a crash with no failover, and not fsync = off (a process crash keeps the page cache)', () => {
    expect(findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['fsync-off', 'synchronous-commit-off']));
    expect(explainDrill(drill('crash', loaded), crash([9, 10]), findings, loaded)).toBe(
      "2 of 12 acknowledged writes were lost: synchronous_commit is 'off': a commit is acknowledged before its WAL is on disk (the primary crashed and came back by itself)",
    );
  });

  it('names no finding for a failure its mechanism does not explain: the sentence is what the checks saw', () => {
    const result = crash([]);
    const damaged = { ...result, checks: result.checks.map((c) => (c.name === 'integrity' ? { ...c, status: 'unknown' as const, valid: 'unknown' as const, summary: 'pg_amcheck on pg-primary could not tell (exit 1): amcheck is not installed' } : c)) };
    expect(explainDrill(drill('crash', loaded), damaged, findings, loaded)).toBe('pg_amcheck on pg-primary could not tell (exit 1): amcheck is not installed');
  });
});

describe("the archive in the primary's failure domain", () => {
  const topology = {
    domains: ['san-a', 'san-b'],
    postgres: {
      nodes: [
        { name: 'pg-primary', role: 'primary', domain: 'san-a' },
        { name: 'pg-replica', role: 'replica', domain: 'san-b' },
        { name: 'pg-archive', role: 'archive', domain: 'san-a' },
      ],
    },
  };
  const { loaded, findings } = configured("wal_level = replica\nsynchronous_commit = on\nsynchronous_standby_names = 'FIRST 1 (\"pg-replica\")'\n", topology);
  const lost = (applied: boolean) => {
    const history = [...writes(range(1, 10), 'pg-primary', 0), ...fault('domain-loss', 'domain:san-a', 30, applied)];
    return resultOf(history, finalState('pg-replica', range(1, 10), { archive: { node: 'pg-archive', error: 'the archive node pg-archive was lost (domain san-a)' } }));
  };

  it('is named when the drill lost that domain, taking the archive with it', () => {
    expect(explainDrill(drill('domain-loss', loaded), lost(true), findings, loaded)).toBe(
      "the archive on pg-archive does not hold the end of the run: the archive node pg-archive was lost (domain san-a): The archive node 'pg-archive' is in failure domain 'san-a', the same as the primary 'pg-primary'; losing that domain took 'pg-archive' with the primary",
    );
  });

  it('is not named when the domain loss did not take effect', () => {
    const why = explainDrill(drill('domain-loss', loaded), lost(false), findings, loaded);
    expect(why).not.toContain("failure domain 'san-a'");
  });
});

describe('a failover that loses acknowledged writes', () => {
  const { loaded, findings } = configured("wal_level = replica\nsynchronous_commit = on\nsynchronous_standby_names = 'ANY 1 (\"pg-replica\", \"pg-archive\")'\n");
  const history = (warned: boolean): HistoryEvent[] => [
    ...writes(range(1, 10), 'pg-primary', 0).map((e) => (warned && e.type === 'ok' && e.key > 8 ? { ...e, warning: 'the transaction has already committed locally, but might not have been replicated' } : e)),
    ...fault('process-crash', 'pg-primary', 30),
    { type: 'recovery', phase: 'start', name: 'failover', time: 35 },
    { type: 'recovery', phase: 'end', name: 'failover', time: 40, outcome: 'ok', detail: 'promoted pg-replica' },
    ...writes([11], 'pg-replica', 50),
  ];

  it('names the quorum the archive alone satisfies when the lost writes were confirmed without a warning', () => {
    const result = resultOf(history(false), finalState('pg-replica', [...range(1, 8), 11]));
    expect(explainDrill(drill('lagging-failover', loaded), result, findings, loaded)).toMatch(
      /^2 of 11 acknowledged writes were lost: synchronous_standby_names is 'ANY 1 \("pg-replica", "pg-archive"\)': .* \(pg-replica was promoted without them\)$/,
    );
  });

  it('does not, when every lost write came with the cancelled-wait warning (no standby had confirmed them)', () => {
    const result = resultOf(history(true), finalState('pg-replica', [...range(1, 8), 11]));
    expect(explainDrill(drill('lagging-failover', loaded), result, findings, loaded)).toBe('2 of 11 acknowledged writes were lost');
  });
});
