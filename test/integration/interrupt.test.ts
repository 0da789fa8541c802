import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { getEngine } from '../../harness/cluster/docker/engine.ts';
import { removeRunResources } from '../../harness/cluster/docker/docker-run.ts';
import { leftovers, nothingLeft, waitForNoLeftovers } from '../helpers.ts';

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

// Ctrl-C while a fault acts, each fault of the catalog on one PostgreSQL primary: whatever the fault
// left (a frozen or read-only volume, a full one, faultfs failing calls, a dead server, a paused
// container, a volume destroyed), clean-up must remove every container, network, volume and loop
// device of the run within 30 s of the signal. Delay 0 sends the signal as the fault is being
// applied: its command may land after clean-up's thaw (it is fenced, then thawed again).
describe('interrupting a run while a fault acts (or is being applied)', () => {
  const cases: Array<[string, number, Record<string, string | number>?]> = [
    ['io-stall', 0],
    ['io-stall', 400],
    ['read-only', 400],
    ['disk-full', 400],
    ['io-error', 400, { op: 'any' }],
    ['power-loss', 400],
    ['process-crash', 400],
    ['pause', 400],
    ['stale-snapshot', 0],
    ['silent-corruption', 0],
    ['volume-loss', 0],
  ];
  it.each(cases)('%s, SIGINT %i ms after it begins: nothing is left within 30 s', async (fault, delayMs, params) => {
    const { out, drill } = await drillFile(fault, params);
    const child = execa('node', ['harness/cli.ts', 'run', drill, '--out', out, '--seed', '1'], { reject: false, all: true });
    const output = await outputUntil(child, new RegExp(`fault ${fault} on pg-primary`));
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const signalAt = performance.now();
    child.kill('SIGINT');
    const result = await child;
    const cleanupMs = performance.now() - signalAt;
    expect(result.exitCode, result.all).toBe(130);
    expect(result.stderr).toMatch(/clean-up done/);
    expect(cleanupMs, result.all).toBeLessThan(30_000);
    const runId = /run ([0-9a-f]{8}):/.exec(output)?.[1];
    expect(runId).toBeDefined();
    expect(await waitForNoLeftovers(runId!, Math.max(0, 30_000 - cleanupMs))).toEqual(nothingLeft);
  });

  it('forces clean-up on a second signal (during an I/O stall) and still leaves nothing', async () => {
    const { out, drill } = await drillFile('io-stall');
    const child = execa('node', ['harness/cli.ts', 'run', drill, '--out', out, '--seed', '1'], { reject: false, all: true });
    const output = await outputUntil(child, /fault io-stall on pg-primary/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalAt = performance.now();
    child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGINT');
    const result = await child;
    const cleanupMs = performance.now() - signalAt;
    expect(result.exitCode, result.all).toBe(130);
    expect(result.stderr).toMatch(/SIGINT received again: forcing clean-up/);
    expect(result.stderr).toMatch(/clean-up done/);
    const runId = /run ([0-9a-f]{8}):/.exec(output)?.[1];
    expect(await waitForNoLeftovers(runId!, Math.max(0, 30_000 - cleanupMs))).toEqual(nothingLeft);
  });
});

// The state the issue found: a kill that came while a volume was frozen leaves a process in
// uninterruptible sleep and a container Docker can neither stop nor enter (docker exec fails).
// Clean-up thaws it from outside the container (the same path doctor --cleanup takes) and then
// removes it; a freeze that keeps landing after each thaw, or one a command agent was still
// applying when clean-up began, does not wedge the removal either.
describe('removing a run whose volume is frozen, or being frozen', () => {
  it('doctor --cleanup thaws a container a kill left stuck on its frozen volume, and removes everything', async () => {
    const { runId, container } = await frozenNode();
    // What Docker's kill does first (it then gives up after some 12 s): SIGKILL to the container's first process.
    process.kill(Number((await execa('docker', ['inspect', '-f', '{{.State.Pid}}', container])).stdout), 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await execa('docker', ['inspect', '-f', '{{.State.Running}}', container])).stdout).toBe('true');
    expect((await execa('docker', ['exec', container, 'true'], { reject: false })).exitCode).not.toBe(0);
    const { diagnose } = await import('../../harness/cluster/docker/doctor.ts');
    const started = performance.now();
    const diagnosis = await diagnose(await getEngine(), { cleanup: true, all: true, only: runId });
    expect(diagnosis.actions.join('\n')).toMatch(/thawed \/var\/lib\/faultline\/data in faultline-[0-9a-f]+-n1/);
    expect(diagnosis.actions).toContain(`removed run ${runId}`);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(await leftovers(runId)).toEqual(nothingLeft);
  }, 60_000);

  it('releases the loop device of a file system that was frozen when its container died (no mount is left to thaw it)', async () => {
    const { runId, container } = await frozenNode({ writer: false });
    // Nothing is blocked, so the container dies; the kernel keeps the frozen file system, and its loop device.
    await execa('docker', ['kill', container]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await leftovers(runId)).loopDevices).toHaveLength(1);
    const said: string[] = [];
    await removeRunResources(await getEngine(), runId, { log: (line) => said.push(line) });
    expect(said.join('\n')).toMatch(/thawed the file system on \/dev\/loop\d+ .*: it was frozen with no mount left/);
    expect(await leftovers(runId)).toEqual(nothingLeft);
  }, 60_000);

  it('removes a run whose volume is frozen again after every thaw (a freeze racing the clean-up)', async () => {
    const { runId, container } = await frozenNode();
    // Another freeze right after each thaw, until the container is killed, and a writer it blocks.
    await execa('docker', ['exec', '-d', container, 'sh', '-c', 'while true; do fsfreeze -f /var/lib/faultline/data 2>/dev/null; sleep 0.01; done']);
    await execa('docker', ['exec', '-d', container, 'sh', '-c', 'while true; do echo x >>/var/lib/faultline/data/y; done']);
    const started = performance.now();
    const said: string[] = [];
    await removeRunResources(await getEngine(), runId, { log: (line) => said.push(line) });
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(said.join('\n')).toMatch(/thawed \/var\/lib\/faultline\/data in faultline-[0-9a-f]+-n1/);
    expect(await leftovers(runId)).toEqual(nothingLeft);
  }, 60_000);

  it('thaws a freeze that a command agent was still applying when clean-up began, before anything is killed', async () => {
    const { runId, node } = await frozenNode();
    const { runInContainer } = await import('../../harness/cluster/docker/agent.ts');
    await execa('docker', ['exec', node.getId(), 'fsfreeze', '-u', '/var/lib/faultline/data']);
    // A fault being applied: its freeze reaches the volume a moment after clean-up's first thaw.
    const applying = runInContainer(node, ['sh', '-c', 'sleep 0.3; fsfreeze -f /var/lib/faultline/data; echo frozen'], { user: 'root' });
    await execa('docker', ['exec', '-d', node.getId(), 'sh', '-c', 'while true; do echo x >>/var/lib/faultline/data/y; sleep 0.01; done']);
    const started = performance.now();
    const said: string[] = [];
    await removeRunResources(await getEngine(), runId, { log: (line) => said.push(line) });
    expect((await applying).stdout.trim()).toBe('frozen');
    expect(said.filter((line) => /thawed \/var\/lib\/faultline\/data/.test(line)).length, said.join('\n')).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await leftovers(runId)).toEqual(nothingLeft);
    // And the run takes no new command: it is being removed.
    await expect(runInContainer(node, ['true'])).rejects.toThrow(/is being removed/);
  }, 60_000);
});

/** A JSON drill: one PostgreSQL primary under load, `fault` on it 1 s in, for 30 s when it heals. */
async function drillFile(fault: string, params?: Record<string, string | number>): Promise<{ out: string; drill: string }> {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { findFault } = await import('../../harness/faults/index.ts');
  const out = mkdtempSync(join(tmpdir(), 'faultline-interrupt-'));
  const drill = join(out, `interrupt-${fault}.json`);
  const healable = findFault(fault)?.healable ?? false;
  writeFileSync(
    drill,
    JSON.stringify({
      name: `interrupt-${fault}`,
      description: `SIGINT while ${fault} acts`,
      topology: { domains: ['san-a'], postgres: { nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }] } },
      workload: { clients: 2, duration: '60s' },
      faults: [{ at: '1s', fault, target: 'primary', ...(healable ? { duration: '30s' } : {}), ...(params ? { params } : {}) }],
    }),
  );
  return { out, drill };
}

/** Reads the child's stderr (as a terminal would) until `line` shows; what it said so far. */
function outputUntil(child: ReturnType<typeof execa>, line: RegExp): Promise<string> {
  let output = '';
  return new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (line.test(output)) resolve(output);
    });
    void child.then(() => reject(new Error(`faultline ended before ${line}:\n${output}`)));
  });
}

/** A node of a run of this process whose volume is frozen, with a writer blocked on it (unless told not to). */
async function frozenNode({ writer = true } = {}): Promise<{ runId: string; container: string; node: import('testcontainers').StartedTestContainer }> {
  const { DockerRun } = await import('../../harness/cluster/docker/docker-run.ts');
  const { postgresImage } = await import('../../harness/engines/postgres/index.ts');
  const image = await postgresImage();
  const run = await DockerRun.create(['d']);
  const node = await run.startNode({ name: 'n1', image, exposedPorts: [], luns: [{ name: 'data', domain: 'd', mountPoint: '/var/lib/faultline/data', bytes: 64 << 20, owner: 'postgres:postgres' }] });
  const container = node.container.getId();
  await execa('docker', ['exec', container, 'fsfreeze', '-f', '/var/lib/faultline/data']);
  if (writer) {
    await execa('docker', ['exec', '-d', container, 'sh', '-c', 'echo x > /var/lib/faultline/data/x; sync']);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return { runId: run.id, container, node: node.container };
}
