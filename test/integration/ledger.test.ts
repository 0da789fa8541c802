import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { asPostgres } from '../../harness/engines/postgres/index.ts';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POSTGRES } from '../../harness/engines/postgres/index.ts';
import healthy from '../../experiments/healthy.ts';
import { runExperiment } from '../../harness/experiment/index.ts';
import { getEngine, removeRunResources } from '../../harness/cluster/docker/index.ts';
import { LEDGER_TABLE } from '../../harness/engines/postgres/client.ts';
import { nothingLeft, out, requireCheck, waitForNoLeftovers } from '../helpers.ts';

describe('the ledger on a real primary + replica', () => {
  it('reports a 10-second healthy run as pass: nothing lost, no anomaly, parity and integrity ok', async () => {
    const result = await runExperiment(healthy, { outDir: out('faultline-ledger-'), seed: 42 });
    const check = (name: string) => requireCheck(result, name);
    expect(result.writes.acknowledged).toBeGreaterThan(1000);
    expect(result.writes.lost).toBe(0);
    expect(result.writes.anomalies).toBe(0);
    expect(check('replica-parity').valid).toBe(true);
    expect(check('replica-parity').details.compared).toEqual(['pg-replica']);
    expect(check('integrity').valid).toBe(true);
    expect(check('restore-completed').valid).toBe(true);
    expect(result.verdict).toBe('pass');
    expect(result.versions.postgres).toMatch(new RegExp(`^PostgreSQL ${DEFAULT_POSTGRES}\\.`));
    expect(await waitForNoLeftovers(result.runId!)).toEqual(nothingLeft);
  });

  it('reports exactly the acknowledged rows deleted behind the workload’s back as lost', async () => {
    let deleted: number[] = [];
    const result = await runExperiment(
      {
        ...healthy,
        name: 'deleted-behind-the-back',
        workload: { clients: 4, duration: '6s' },
        schedule: [
          {
            at: '3s',
            name: 'delete 25 acknowledged rows',
            target: 'pg-primary',
            run: async ({ cluster }) => {
              const rows = await asPostgres(cluster).primary().psql(`DELETE FROM ${LEDGER_TABLE} WHERE key IN (SELECT key FROM ${LEDGER_TABLE} ORDER BY random() LIMIT 25) RETURNING key`);
              deleted = rows.split('\n').map(Number);
              return `deleted keys ${deleted.join(', ')}`;
            },
          },
        ],
      },
      { outDir: out('faultline-ledger-'), seed: 7 },
    );
    expect(deleted).toHaveLength(25);
    const lost = result.checks.find((c) => c.name === 'lost-writes')!;
    expect(lost.valid).toBe(false);
    expect(result.writes.lost).toBe(25);
    expect([...(lost.details.lostKeys as number[])].sort((a, b) => a - b)).toEqual([...deleted].sort((a, b) => a - b));
    expect(result.writes.anomalies).toBe(0);
    expect(result.rpo.writes).toBe(25);
    expect(result.verdict).toBe('fail');
    expect(result.faults).toEqual([expect.objectContaining({ name: 'delete 25 acknowledged rows', target: 'pg-primary' })]);
  });

  it('leaves a history that faultline report can still check after the harness is killed mid-run', async () => {
    const dir = out('faultline-ledger-');
    const child = execa('node', ['harness/cli.ts', 'run', 'healthy', '--out', dir, '--seed', '3'], { reject: false });
    const history = join(dir, 'healthy', 'latest', 'history.jsonl');
    const okLines = () => {
      try {
        return readFileSync(history, 'utf8').split('\n').filter((l) => l.startsWith('{"type":"ok"')).length;
      } catch {
        return 0;
      }
    };
    const deadline = Date.now() + 120_000;
    while (okLines() < 500 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGKILL');
    await child;

    // What the file says, read independently of faultline's reader.
    const lines = readFileSync(history, 'utf8').split('\n').filter(Boolean);
    const parsed = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as { type: string; key?: number; f?: string; runId?: string }];
      } catch {
        return [];
      }
    });
    const acked = parsed.filter((e) => e.type === 'ok' && e.f === 'write').map((e) => e.key!);
    const runId = parsed.find((e) => e.runId)?.runId;
    expect(acked.length).toBeGreaterThanOrEqual(500);
    expect(runId).toBeDefined();

    try {
      const before = readFileSync(join(dir, 'healthy', 'latest', 'history.jsonl'), 'utf8');
      const report = await execa('node', ['harness/cli.ts', 'report', join(dir, 'healthy'), '--write'], { reject: false });
      expect(readFileSync(join(dir, 'healthy', 'latest', 'history.jsonl'), 'utf8')).toBe(before); // the evidence is never rewritten
      expect(report.exitCode).toBe(3); // a run that never ended is broken: it shows nothing either way, never a pass
      expect(report.stderr).toMatch(/did not finish/);
      const result = JSON.parse(readFileSync(join(dir, 'healthy', 'latest', 'result.json'), 'utf8'));
      expect(result.writes.acknowledged).toBe(acked.length);
      expect(result.checks.find((c: { name: string }) => c.name === 'lost-writes').valid).toBe('unknown');
      expect(result.verdict).toBe('broken');
      expect(result.error).toMatch(/did not finish/);

      // The killed harness left its cluster running: every write the history calls acknowledged is
      // really in the database (an ack is recorded only after PostgreSQL gave it).
      const keys = await execa('docker', ['exec', '-u', 'postgres', `faultline-${runId}-pg-primary`, 'psql', '-XAtc', `SELECT key FROM ${LEDGER_TABLE}`]);
      const stored = new Set(keys.stdout.split('\n').map(Number));
      expect(acked.filter((key) => !stored.has(key))).toEqual([]);
    } finally {
      await removeRunResources(await getEngine(), runId!);
    }
    expect(await waitForNoLeftovers(runId!)).toEqual(nothingLeft);
  });
});
