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

describe('the host-crash drills: the reason is what the power loss or the failed fsync left', () => {
  const powerLoss = (healed: string): HistoryEvent[] => {
    const base = { type: 'fault' as const, name: 'power-loss', target: 'pg-primary', id: 'power-loss-30', disruptive: true };
    const cut = 'power lost (torn=op): pg-primary: 81920 un-synced bytes in 3 files and 0 directory changes dropped';
    return [
      { ...base, phase: 'start', time: 30 },
      { ...base, phase: 'active', time: 31, detail: cut },
      { ...base, phase: 'end', time: 32, detail: `${cut}; healed: power back: ${healed}` },
    ];
  };
  const down = (primary: string): FinalState => ({ time: 1000, primary: { node: primary, error: 'connect ECONNREFUSED 172.17.0.1:33404' }, replicas: [], integrity: [{ tool: 'data checksums (crash recovery)', node: primary, exitCode: 1, output: 'page verification failed', verdict: 'damaged' }], probe: { ok: false, time: 999, latencyMs: 2, node: primary, error: 'connect ECONNREFUSED' } as never });
  const notStarted = 'pg-primary did not start again: 2026-12-06 10:09:38.772 UTC [145] FATAL:  invalid page in block 0 of relation base/5/1259';

  it("names full_page_writes = off when the primary could not start again on a page the power loss tore, in the server's words", () => {
    const { loaded, findings } = configured("wal_level = replica\nfull_page_writes = off\nsynchronous_standby_names = 'FIRST 1 (\"pg-replica\")'\n");
    const result = resultOf([...writes(range(1, 10), 'pg-primary', 0), ...powerLoss(notStarted)], down('pg-primary'));
    expect(explainDrill(drill('torn-write', loaded), result, findings, loaded)).toBe(
      "pg-primary did not start again after the power loss (FATAL: invalid page in block 0 of relation base/5/1259): full_page_writes is 'off': a page torn by a crash cannot be repaired from WAL (the power was cut mid-write)",
    );
  });

  it('names synchronous_commit = off for writes a power loss took, and not full_page_writes = off, whose mark is damage', () => {
    const { loaded, findings } = configured("wal_level = replica\nsynchronous_commit = off\nfull_page_writes = off\nsynchronous_standby_names = 'FIRST 1 (\"pg-replica\")'\n");
    const result = resultOf([...writes(range(1, 10), 'pg-primary', 0), ...powerLoss('pg-primary restarted (crash recovery)'), ...writes(range(11, 12), 'pg-primary', 40)], finalState('pg-primary', [...range(1, 8), 11, 12]));
    expect(explainDrill(drill('power-loss', loaded), result, findings, loaded)).toBe(
      "2 of 12 acknowledged writes were lost: synchronous_commit is 'off': a commit is acknowledged before its WAL is on disk (the primary crashed and came back by itself)",
    );
    const onlyFpw = configured("wal_level = replica\nfull_page_writes = off\nsynchronous_standby_names = 'FIRST 1 (\"pg-replica\")'\n");
    expect(explainDrill(drill('power-loss', onlyFpw.loaded), result, onlyFpw.findings, onlyFpw.loaded)).toBe('2 of 12 acknowledged writes were lost');
  });

  it('names data_sync_retry = on for damage found after a failed fsync and a crash', () => {
    const { loaded, findings } = configured("wal_level = replica\ndata_sync_retry = on\nsynchronous_standby_names = 'FIRST 1 (\"pg-replica\")'\n");
    const history = [...writes(range(1, 10), 'pg-primary', 0), ...fault('io-error', 'pg-primary', 20), ...fault('process-crash', 'pg-primary', 50), ...writes(range(11, 12), 'pg-primary', 60)];
    const damaged = finalState('pg-primary', range(1, 12), { integrity: [{ tool: 'pg_amcheck', node: 'pg-primary', exitCode: 2, output: 'btree index "pg_class_oid_index": block 1 is not valid', verdict: 'damaged' }] });
    const why = explainDrill(drill('fsync-error', loaded), resultOf(history, damaged), findings, loaded);
    expect(why).toMatch(/^pg_amcheck .*: data_sync_retry is 'on': a failed fsync is retried instead of stopping the server \(an fsync of a table file failed, and after the crash the data it should have written was not there\)$/);
  });
});
