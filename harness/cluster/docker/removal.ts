// Removing what a run left in Docker, found by its label: thaw first, then kill and remove the
// containers, the network and the domain volumes, and release the loop devices. Bounded; idempotent.

import { ClusterError, describeError } from '../../errors.ts';
import { sleep, waitFor } from '../../wait.ts';
import { fenceRun } from './agent.ts';
import type { Engine } from './engine.ts';
import { LABEL_RUN } from './labels.ts';
import { releaseLoopDevices } from './loop-devices.ts';
import { nameOf, rescueThaw, thawRun, THAW_BOUND_MS, within, type ContainerInfo } from './thaw.ts';

/** How long removing a run may take before it gives up and says what is left (a signal's whole clean-up must end within 30 s). */
export const REMOVAL_BOUND_MS = 20_000;
/** How long a killed container may take to exit before something in it is taken to be stuck on a frozen volume. */
const KILL_PATIENCE_MS = 1500;

export interface RemovalOptions {
  /** Gives up, saying what is left, once this much time has passed. Default REMOVAL_BOUND_MS. */
  timeoutMs?: number;
  /** Told what was done that a user may want to know: a volume thawed, a loop device detached. */
  log?: (line: string) => void;
}

/**
 * Removes what a run left in Docker, found by its label, and the loop devices of its volumes.
 * Nothing is killed before every volume of the run is thawed: a process blocked on a frozen file
 * system cannot die, so its container would never exit, and Docker could no longer enter it to thaw
 * it. The run's containers take no new command from then on (fenceRun), and a freeze that was on its
 * way all the same is thawed from outside the container (rescueThaw) when a killed container does not
 * exit. Then the network and the domain volumes. Bounded in time; failures are collected and reported
 * together after every step was tried. Idempotent: it also serves `faultline doctor --cleanup`.
 */
export async function removeRunResources(engine: Engine, runId: string, options: RemovalOptions = {}): Promise<void> {
  const { docker } = engine;
  const deadline = performance.now() + (options.timeoutMs ?? REMOVAL_BOUND_MS);
  const log = options.log ?? (() => {});
  const filters = JSON.stringify({ label: [`${LABEL_RUN}=${runId}`] });
  const problems: string[] = [];
  fenceRun(runId);
  const containers = await docker.listContainers({ all: true, filters });
  // Half the time at most: a freeze that outlasts it is thawed from outside once the kill stalls.
  await within(thawRun(engine, runId, containers, log), Math.max(1000, (deadline - performance.now()) / 2)).catch(() => {});
  await Promise.all(
    containers.map((c) =>
      removeContainer(engine, c, deadline, log).catch((error: unknown) => {
        if (!/No such container|is already in progress/.test(describeError(error))) problems.push(`container ${nameOf(c)}: ${describeError(error)}`);
      }),
    ),
  );
  // The network and the volumes, all at once: none depends on another once the containers are gone.
  const [networks, { Volumes: volumes }] = await Promise.all([docker.listNetworks({ filters }), docker.listVolumes({ filters })]);
  await Promise.all([
    ...networks.map((network) =>
      docker
        .getNetwork(network.Id)
        .remove()
        .catch((error: unknown) => {
          if (!/no such network|not found/i.test(describeError(error))) problems.push(`network ${network.Name}: ${describeError(error)}`);
        }),
    ),
    ...(volumes ?? []).map((volume) => removeVolume(engine, volume.Name).catch((error: unknown) => problems.push(`volume ${volume.Name}: ${describeError(error)}`))),
  ]);
  problems.push(...(await releaseLoopDevices(runId, log)));
  if (problems.length > 0) {
    throw new ClusterError(`Clean-up of run ${runId} left resources behind:\n  ${problems.join('\n  ')}\nRun 'faultline doctor --cleanup' to retry.`);
  }
}

/** Removes a volume, retrying while it is still busy just after its containers went. */
export async function removeVolume(engine: Engine, name: string): Promise<void> {
  await waitFor({ what: `volume ${name} to be free to remove`, timeoutMs: 2000, intervalMs: 50 }, async (seen) => {
    const error = await engine.docker.getVolume(name).remove().then(() => undefined, (caught: unknown) => caught);
    if (!error || /no such volume/i.test(describeError(error))) return true;
    seen(describeError(error));
    return undefined;
  });
}

/**
 * Kills a container (SIGKILL) and removes it with its anonymous volumes. A container that does not
 * exit has a process stuck on a frozen volume (a freeze that landed after the thaw): it is thawed
 * from outside, again until the container has exited or the deadline passed.
 */
async function removeContainer(engine: Engine, c: ContainerInfo, deadline: number, log: (line: string) => void): Promise<void> {
  const container = engine.docker.getContainer(c.Id);
  if (c.State === 'running' || c.State === 'paused' || c.State === 'restarting') {
    // Docker answers a SIGKILL once the container has exited, or some 12 s later saying it did not:
    // watch the container instead of waiting for that answer.
    container.kill().catch(() => {});
    let rescueAt = performance.now() + KILL_PATIENCE_MS;
    for (;;) {
      const state = await container.inspect().then((info) => info.State, () => undefined);
      if (!state?.Running) break;
      if (performance.now() > deadline) throw new Error('it still runs after SIGKILL: a process in it is stuck (on a frozen volume?), and thawing it from outside did not help');
      if (performance.now() >= rescueAt) {
        for (const mount of await within(rescueThaw(engine, c), THAW_BOUND_MS).catch(() => [])) log(`thawed ${mount} in ${nameOf(c)} from outside it (it did not exit when killed)`);
        rescueAt = performance.now() + KILL_PATIENCE_MS;
      }
      await sleep(100);
    }
  }
  await container.remove({ force: true, v: true });
}
