import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { nothingLeft, waitForNoLeftovers } from '../helpers.ts';

// A user presses Ctrl-C while the cluster is still starting: whatever step it is in, the run's
// containers, network, volumes and loop devices must all be gone afterwards.
describe('interrupting a starting cluster with SIGINT', () => {
  it.each([
    ['while its containers start', /starting \d+ node containers/],
    ['while the replica is being prepared', /preparing replica /],
    ['while the replica starts', /starting 'pg-replica'/],
  ])('leaves no container, network, volume or loop device behind (%s)', async (_when, phase) => {
    const child = execa('node', ['harness/cli.ts', 'up'], { reject: false, all: true });
    let output = '';
    // Keep reading stderr to the end (as a terminal would), and interrupt once the phase shows.
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (phase.test(output)) resolve();
        else if (/cluster ready/.test(output)) reject(new Error(`the cluster was ready before the phase showed:\n${output}`));
      });
      void child.then(() => reject(new Error(`faultline up ended before the phase showed:\n${output}`)));
    });
    const runId = /run ([0-9a-f]{8}):/.exec(output)?.[1];
    expect(runId, output).toBeDefined();
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode, result.all).toBe(130);
    expect(result.stderr).toMatch(/clean-up done/);
    expect(await waitForNoLeftovers(runId!)).toEqual(nothingLeft);
  });
});

describe('interrupting a run in the middle of a fault', () => {
  it('thaws, removes everything and keeps the history it has when Ctrl-C comes during an I/O stall', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const out = mkdtempSync(join(tmpdir(), 'faultline-interrupt-'));
    const child = execa('node', ['harness/cli.ts', 'run', 'io-stall', '--out', out, '--seed', '1'], { reject: false, all: true });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/fault io-stall on pg-primary/.test(output)) resolve();
      });
      void child.then(() => reject(new Error(`faultline run ended before the fault:\n${output}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, 1000)); // well inside the 3 s freeze
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode, result.all).toBe(130);
    const runId = /run ([0-9a-f]{8}):/.exec(output)?.[1];
    expect(runId).toBeDefined();
    expect(await waitForNoLeftovers(runId!)).toEqual(nothingLeft);
    const history = readFileSync(join(out, 'io-stall', 'latest', 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(history.some((e) => e.type === 'fault' && e.phase === 'start' && e.name === 'io-stall')).toBe(true);
    expect(history.filter((e) => e.type === 'ok').length).toBeGreaterThan(0);
  });
});
