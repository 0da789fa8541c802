// `faultline report DIR` on a proof's folder judges it again from its record (evidence, listings,
// budgets), as the proof itself did, never as a run with a workload.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProveRecord } from '../../../harness/history/prove-evidence.ts';
import { buildProofResult } from '../../../harness/report/proof.ts';
import { recheckRun } from '../../../harness/report/recheck.ts';

const record: ProveRecord = {
  source: { kind: 'base-backup', options: { base: '/b', wal: '/w' }, label: 'base backup /b with WAL archive /w' },
  major: 17,
  majorFrom: 'PG_VERSION',
  backup: { label: 'base' },
  bytes: 1024 ** 3,
  bytesFrom: 'the manifest',
  target: 'latest',
  phases: { fetch: 100, restore: 50, replay: 600, checks: 900 },
  evidence: {
    version: 'PostgreSQL 17.7',
    image: 'faultline-postgres:17',
    started: true,
    read: { ok: true, detail: '2 databases accept connections' },
    write: { ok: true, detail: 'a row committed' },
    reached: { point: 'replay ended at 0/4000000 on timeline 1', lsn: '0/4000000', timeline: 1, lastCommitAt: '2026-12-07T02:17:01.927Z', short: 'replay stopped at 0/4000000 on timeline 1: WAL segment 000000010000000000000004 is missing' },
    freshness: { at: '2026-12-07T02:17:01.927Z', by: 'last-commit', detail: 'pg_last_xact_replay_timestamp()' },
    integrity: [{ tool: 'pg_amcheck', verdict: 'ok', detail: 'every table' }],
    phases: { fetch: 100, restore: 50, replay: 600, checks: 900 },
    mounts: [{ target: '/var/lib/faultline/backup/base', flags: 'ro,relatime' }],
    notes: [],
  },
  unchanged: { paths: [{ source: '/b', what: 'the base backup', files: 2, bytes: 10, changes: 0, described: 'unchanged' }] },
  judged: { at: '2026-12-07T03:00:01.927Z', maxAgeMs: 3_600_000, checksGiven: false },
};

describe('re-checking a proof from its folder', () => {
  it('gives the checks the proof gave, judged at the time the proof was (freshness is an age then, not now)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-recheck-proof-'));
    const first = buildProofResult({ name: 'prove-backup', record, runId: 'abcd1234', timings: { clusterReadyMs: null, workloadMs: null, totalMs: 4000 }, versions: {}, dir });
    writeFileSync(join(dir, 'result.json'), JSON.stringify(first));
    writeFileSync(join(dir, 'history.jsonl'), `${JSON.stringify({ type: 'run', phase: 'start', experiment: 'prove-backup', seed: 0, time: 0 })}\n${JSON.stringify({ type: 'run', phase: 'end', time: 4000 })}\n`);
    const { result, complete } = recheckRun(dir);
    expect(complete).toBe(true);
    expect(result.checks.map((c) => [c.name, c.valid])).toEqual([
      ['restore-completed', true],
      ['recovery-reached', false],
      ['freshness', true],
      ['integrity', true],
      ['user-checks', 'skipped'],
      ['rto', 'skipped'],
      ['backup-unchanged', true],
    ]);
    expect(result.checks.find((c) => c.name === 'freshness')!.summary).toContain('43 min 0 s old');
    expect(result.verdict).toBe('fail');
    expect(result.checks).toEqual(first.checks);
  });
});
