// An engine is one folder: the file-ledger engine in test/engines/file-ledger/, registered from
// here (never shipped in the registry), runs a healthy drill through the same runner, checkers and
// container start template as PostgreSQL and Redis, and reaches faultline only through its core.

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, registerEngine, runExperiment, type TopologySpec } from '../../harness/index.ts';
import { fileLedgerEngine } from '../engines/file-ledger/index.ts';
import { nothingLeft, waitForNoLeftovers } from '../helpers.ts';

const folder = resolve(import.meta.dirname, '../engines/file-ledger');

describe('a third engine, registered from the tests', () => {
  let unregister: () => void;
  beforeAll(() => {
    unregister = registerEngine(fileLedgerEngine);
  });
  afterAll(() => unregister());

  it('imports nothing of faultline but the core: no engine folder, no registry', () => {
    const imports = readdirSync(folder).flatMap((file) =>
      [...readFileSync(join(folder, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => relative(resolve(folder, '../../..'), resolve(folder, m[1]!))),
    );
    const outside = imports.filter((path) => !path.startsWith('test/engines/file-ledger/') && !path.startsWith('node_modules') && !/^[a-z]+$/.test(path));
    expect(outside.length).toBeGreaterThan(0);
    expect(outside.filter((path) => !/^harness\/(cluster|workload|errors|schema)[/.]/.test(path))).toEqual([]);
  });

  it('runs a healthy drill through the shared runner and start template: every acknowledged append is there', async () => {
    const lines: string[] = [];
    const topology = { domains: ['site-a'], ledger: { nodes: [{ name: 'ledger-primary', role: 'primary', domain: 'site-a' }] } } as unknown as TopologySpec;
    const result = await runExperiment(
      { name: 'ledger-healthy', description: 'appends to a file ledger, no fault', topology, workload: { clients: 2, duration: '3s' } },
      { outDir: mkdtempSync(join(tmpdir(), 'faultline-ledger-')), seed: 1, log: (line) => lines.push(line) },
    );
    expect(await waitForNoLeftovers(result.runId!)).toEqual(nothingLeft);
    const why = `${result.error ?? ''}\n${result.checks.map((c) => `${c.name}: ${c.status} ${c.summary}`).join('\n')}`;
    expect(result.verdict, why).toBe('pass');
    expect(result.writes.acknowledged, why).toBeGreaterThan(10);
    expect(result.writes.lost).toBe(0);
    expect(result.checks.find((c) => c.name === 'integrity')?.status, why).toBe('pass');
    expect(result.checks.find((c) => c.name === 'restore-completed')?.status, why).toBe('pass');
    // The start template's own lines, with the engine's description.
    expect(lines.some((l) => /starting 1 node containers \(file ledger\)/.test(l))).toBe(true);
    expect(lines.some((l) => /cluster ready in/.test(l))).toBe(true);
  });

  it('cannot be registered twice, and is gone from the registry once unregistered', () => {
    expect(() => registerEngine(fileLedgerEngine)).toThrow(/already registered/);
    expect(engines.map((e) => e.name)).toContain('ledger');
    unregister();
    expect(engines.map((e) => e.name)).not.toContain('ledger');
    unregister = registerEngine(fileLedgerEngine);
  });
});
