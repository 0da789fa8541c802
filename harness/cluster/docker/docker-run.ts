// One run's Docker resources: a network, one volume per failure domain, and the node containers.
// Everything is labelled with the run id, and clean-up removes by label, so a container that was
// being created when the run was interrupted is removed too. Clean-up is idempotent.

import { InterruptedError } from '../../errors.ts';
import { sleep } from '../../wait.ts';
import { fenceRun } from './agent.ts';
import { getEngine, type Engine } from './engine.ts';
import { interruptInProgress, trackRun } from './interrupts.ts';
import { LABEL_DOMAIN, LABEL_RUN, newRunId, resourceName, runLabels } from './labels.ts';
import { startNodeContainer, type FaultfsOptions, type NodeContainerSpec, type StartedNode } from './node-start.ts';
import { removeRunResources, removeVolume } from './removal.ts';
import { RunLogKeeper, type RunLogsOptions } from './run-logs.ts';
import { rescuesOf, thawRun, THAW_BOUND_MS, within } from './thaw.ts';

// Callers import these from here, where they were before the run's ideas got files of their own.
export { domainMountPoint, FAULTFS_SOCKET, type FaultfsOptions, type LunSpec, type NodeContainerSpec, type StartedLun, type StartedNode } from './node-start.ts';
export { REMOVAL_BOUND_MS, removeRunResources, type RemovalOptions } from './removal.ts';
export { listLoopDevices, releaseLoopDevices, type LoopLeftover } from './loop-devices.ts';
export type { RunLogsOptions } from './run-logs.ts';

/** Under a signal, how long clean-up waits for the run's Docker calls in flight before removing anyway (sweep catches what they make later). */
const SIGNAL_SETTLE_MS = 3000;

export class DockerRun implements AsyncDisposable {
  readonly id: string;
  readonly networkName: string;
  readonly engine: Engine;
  /** Set when every node's LUN gets faultfs. */
  readonly faultfs: FaultfsOptions | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly untrack: () => void;
  private interruptedBy: string | undefined;
  private cleaning: Promise<void> | undefined;
  /** Set when the run keeps its nodes' logs. */
  private readonly logs: RunLogKeeper | undefined;

  private constructor(engine: Engine, id: string, faultfs: FaultfsOptions | undefined, logs: RunLogsOptions | undefined) {
    this.engine = engine;
    this.faultfs = faultfs;
    this.logs = logs && new RunLogKeeper(engine, id, logs);
    this.id = id;
    this.networkName = resourceName(id, 'net');
    this.untrack = trackRun(this);
  }

  /** Creates the run's network (`internal`: with no route out) and one volume per failure domain. */
  static async create(
    domains: string[],
    options: { runId?: string | undefined; faultfs?: FaultfsOptions | undefined; logs?: RunLogsOptions | undefined; internal?: boolean } = {},
  ): Promise<DockerRun> {
    const engine = await getEngine();
    const run = new DockerRun(engine, options.runId ?? newRunId(), options.faultfs, options.logs);
    try {
      await run.track(
        // An internal network has no route out of it: a scratch node restoring a user's backups reaches nothing.
        engine.docker.createNetwork({ Name: run.networkName, Labels: runLabels(run.id), CheckDuplicate: true, ...(options.internal ? { Internal: true } : {}) }),
      );
      await Promise.all(
        domains.map((domain) =>
          run.track(
            engine.docker.createVolume({
              Name: run.volumeName(domain),
              Labels: { ...runLabels(run.id), [LABEL_DOMAIN]: domain },
            }),
          ),
        ),
      );
      run.checkpoint();
    } catch (error) {
      await run.cleanup();
      throw error;
    }
    return run;
  }

  volumeName(domain: string): string {
    return resourceName(this.id, `domain-${domain}`);
  }

  /** Throws InterruptedError if the run was interrupted: call between steps. */
  checkpoint(): void {
    if (this.interruptedBy) throw new InterruptedError(`Run ${this.id} was ${this.interruptedBy}`);
  }

  /** Starts a node container with its LUNs attached; resolves once the node said it is ready. */
  startNode(spec: NodeContainerSpec): Promise<StartedNode> {
    return startNodeContainer(this, spec);
  }

  /**
   * Loses a failure domain: kills and removes the given containers (the nodes with a LUN in it),
   * then deletes the domain's volume with every image on it. A run that keeps logs copies the lost
   * nodes' logs between the kill and the removal: they are faultline's evidence, not the SAN's.
   */
  async loseDomain(domain: string, containerIds: string[]): Promise<string> {
    const { docker } = this.engine;
    if (this.logs) {
      await Promise.all(containerIds.map((id) => this.track(docker.getContainer(id).kill().catch(() => {}))));
      await this.track(this.logs.collect(containerIds));
    }
    await Promise.all(containerIds.map((id) => this.track(docker.getContainer(id).remove({ force: true }))));
    const volume = this.volumeName(domain);
    await removeVolume(this.engine, volume);
    return volume;
  }

  /** Awaits a Docker call while keeping a record of it, so an interrupt can let it settle first. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    const forget = () => this.inflight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  async interrupt(reason: string): Promise<void> {
    this.interruptedBy ??= reason;
    await this.settleInflight();
  }

  /**
   * Waits for the Docker calls in flight, e.g. containers still being created: at most a minute, or
   * 3 s under a signal (then `sweep` removes what they make later). Under a signal the run's
   * containers first stop taking commands and every volume is thawed: a call in flight may be
   * waiting on a frozen one, and nothing may be killed before it is thawed.
   */
  private async settleInflight(): Promise<void> {
    const signalled = interruptInProgress();
    if (signalled) {
      fenceRun(this.id);
      const filters = JSON.stringify({ label: [`${LABEL_RUN}=${this.id}`] });
      const containers = await this.engine.docker.listContainers({ all: true, filters }).catch(() => []);
      await within(thawRun(this.engine, this.id, containers, () => {}), 2 * THAW_BOUND_MS).catch(() => {});
    }
    const deadline = new Promise((resolve) => setTimeout(resolve, signalled ? SIGNAL_SETTLE_MS : 60_000).unref());
    while (this.inflight.size > 0) {
      const settled = await Promise.race([Promise.allSettled([...this.inflight]).then(() => true), deadline.then(() => false)]);
      if (!settled) return;
    }
  }

  /**
   * After a clean-up under a signal: while Docker calls of the run are still in flight (a container
   * being created when the signal came, a helper thawing a volume from outside), removes again what
   * they made, and once more after the last of them settled, so that nothing they create escapes.
   * Bounded; never throws.
   */
  async sweep(timeoutMs = 8000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const busy = () => [...this.inflight, ...rescuesOf(this.id)];
    let again = busy().length > 0;
    while (again && performance.now() < deadline) {
      await Promise.race([Promise.allSettled(busy()), sleep(500)]);
      again = busy().length > 0; // read before the pass: a pass after the last call settled ends it
      await removeRunResources(this.engine, this.id, { timeoutMs: Math.max(2000, deadline - performance.now()) }).catch(() => {});
    }
  }

  /**
   * The second signal: thaws and removes everything at once, without waiting for calls in flight
   * or for the logs, then sweeps. Never leaves a loop device (removeRunResources detaches them).
   */
  async forceCleanup(timeoutMs = 8000): Promise<void> {
    this.interruptedBy ??= 'interrupted';
    await removeRunResources(this.engine, this.id, { timeoutMs });
    await this.sweep(2000);
  }

  /**
   * Removes every container, the network and the volumes labelled with this run's id. It first
   * stops the run and lets calls in flight settle: when one of several parallel container starts
   * fails, the others are still creating containers that must not escape the clean-up.
   */
  cleanup(): Promise<void> {
    this.interruptedBy ??= 'cleaned up';
    this.cleaning ??= this.settleInflight()
      .then(() => this.logs?.collect())
      .then(() => removeRunResources(this.engine, this.id))
      .finally(() => this.untrack());
    return this.cleaning;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

}
