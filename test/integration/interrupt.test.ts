import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { nothingLeft, waitForNoLeftovers } from '../helpers.ts';

// A user presses Ctrl-C while the cluster is still starting: whatever step it is in, the run's
// containers, network, volumes and loop devices must all be gone afterwards.
describe('interrupting a starting cluster with SIGINT', () => {
  it.each([
    ['while its containers start', /starting \d+ node containers/],
    ['while the replica is being cloned', /cloning /],
  ])('leaves no container, network, volume or loop device behind (%s)', async (_when, phase) => {
    const child = execa('node', ['harness/cli.ts', 'up'], { reject: false, all: true });
    let output = '';
    // Keep reading stderr to the end (as a terminal would), and interrupt once the phase shows.
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (phase.test(output)) resolve();
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
