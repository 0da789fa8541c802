// Fencing: before another node takes over, the old primary must be proven down, or it could go on
// acknowledging writes that the new primary never sees (split brain). "Fenced" is said only with
// proof: the node was lost, its container no longer runs, or no server process is left in it.

import { describeError } from '../errors.ts';
import { waitFor } from '../wait.ts';
import type { ClusterNode, StartedCluster } from './engine.ts';

export interface Fencing {
  fenced: boolean;
  /** How it was proven, or why it could not be. */
  how: string;
}

/** What Docker says of the node's container: its state, gone (no such container), or why it could not say. */
type Inspected = { running: boolean; paused: boolean } | { gone: true } | { error: string };

async function inspect(cluster: StartedCluster, node: ClusterNode): Promise<Inspected> {
  try {
    const { State } = await cluster.run.engine.docker.getContainer(node.container.getId()).inspect();
    return { running: State.Running, paused: State.Paused };
  } catch (error) {
    // Only the engine's own "no such container" proves it gone; any other error (the engine busy or
    // unreachable, a timeout) says nothing about whether the old primary still serves.
    if ((error as { statusCode?: number }).statusCode === 404) return { gone: true };
    return { error: describeError(error) };
  }
}

/** Kills the node's server and proves it is gone. Never throws: what could not be proven is the answer. */
export async function fence(cluster: StartedCluster, node: ClusterNode): Promise<Fencing> {
  if (node.lost) return { fenced: true, how: `${node.name} was lost with its volume` };
  const before = await inspect(cluster, node);
  if ('gone' in before) return { fenced: true, how: `${node.name}'s container no longer exists` };
  if ('running' in before && !before.running) return { fenced: true, how: `${node.name}'s container is not running` };
  if ('paused' in before && before.paused) return { fenced: false, how: `${node.name}'s container is paused (a hung host): its server cannot be killed or proven down` };
  try {
    await node.killServer();
    await waitFor({ what: `the ${node.serverName} processes of ${node.name} to exit`, timeoutMs: 10_000, intervalMs: 25 }, async (seen) => {
      const left = await node.exec(['pgrep', '-x', node.serverProcess], { user: 'root' });
      seen(left.exitCode === 0 ? `pids ${left.stdout.trim().split('\n').join(' ')}` : `pgrep exit ${left.exitCode}`);
      return left.exitCode === 1 ? true : undefined;
    });
    return { fenced: true, how: `${node.name}'s server was killed and no ${node.serverProcess} process is left` };
  } catch (error) {
    const after = await inspect(cluster, node);
    if ('gone' in after) return { fenced: true, how: `${node.name}'s container no longer exists` };
    if ('running' in after && !after.running) return { fenced: true, how: `${node.name}'s container is not running` };
    const inspecting = 'error' in before ? `; inspecting its container failed: ${before.error}` : '';
    return { fenced: false, how: `${node.name} could not be proven down: ${describeError(error)}${inspecting}` };
  }
}
