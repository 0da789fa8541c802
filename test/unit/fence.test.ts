// Fencing says "fenced" only with proof. An error while asking Docker about the old primary's
// container is no proof it is down; only Docker's "no such container", a stopped container, or no
// server process left in it is.
import { describe, expect, it } from 'vitest';
import { fence } from '../../harness/cluster/fence.ts';
import type { ClusterNode, StartedCluster } from '../../harness/cluster/engine.ts';

/** The Docker engine as fence sees it: inspecting the container answers `state`, or throws `error`. */
function clusterWith(inspect: () => Promise<{ State: { Running: boolean; Paused: boolean } }>): StartedCluster {
  return { run: { engine: { docker: { getContainer: () => ({ inspect }) } } } } as unknown as StartedCluster;
}

/** A node whose kill does `kill`, and in which pgrep finds `left` server processes (exit 0) or none (exit 1). */
function nodeWith(kill: () => Promise<unknown>, left: boolean): ClusterNode {
  return {
    name: 'pg-primary',
    lost: false,
    serverName: 'PostgreSQL',
    serverProcess: 'postgres',
    container: { getId: () => 'c0ffee' },
    killServer: kill,
    exec: async () => ({ exitCode: left ? 0 : 1, stdout: left ? '42\n' : '', stderr: '' }),
  } as unknown as ClusterNode;
}

const engineDown = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' }));
const noSuchContainer = () => Promise.reject(Object.assign(new Error('(HTTP code 404) no such container - No such container: c0ffee'), { statusCode: 404 }));

describe('fencing', () => {
  it('does not take an error inspecting the container for proof that the old primary is down', async () => {
    const result = await fence(clusterWith(engineDown), nodeWith(() => Promise.reject(new Error('exec failed: engine unreachable')), true));
    expect(result.fenced).toBe(false);
    expect(result.how).toBe('pg-primary could not be proven down: exec failed: engine unreachable; inspecting its container failed: connect ECONNREFUSED /var/run/docker.sock');
  });

  it('still proves it down by its processes when inspecting failed but the kill and pgrep worked', async () => {
    const result = await fence(clusterWith(engineDown), nodeWith(async () => ({}), false));
    expect(result).toEqual({ fenced: true, how: "pg-primary's server was killed and no postgres process is left" });
  });

  it("takes Docker's own 'no such container' for proof", async () => {
    expect(await fence(clusterWith(noSuchContainer), nodeWith(async () => ({}), true))).toEqual({ fenced: true, how: "pg-primary's container no longer exists" });
  });

  it('takes a stopped container for proof, and refuses a paused one', async () => {
    expect((await fence(clusterWith(async () => ({ State: { Running: false, Paused: false } })), nodeWith(async () => ({}), true))).fenced).toBe(true);
    expect(await fence(clusterWith(async () => ({ State: { Running: true, Paused: true } })), nodeWith(async () => ({}), true))).toMatchObject({ fenced: false });
  });
});
