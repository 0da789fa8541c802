// One run's Docker resources: a network, one volume per failure domain, and the node containers.
// Everything is labelled with the run id, and clean-up removes by label, so a container that was
// being created when the run was interrupted is removed too. Clean-up is idempotent.

import type { StartedTestContainer } from 'testcontainers';
import { Wait } from 'testcontainers';
import { ClusterError, InterruptedError, describeError } from '../../errors.ts';
import { getEngine, type Engine } from './engine.ts';
import { trackRun } from './interrupts.ts';
import { LABEL_DOMAIN, LABEL_NODE, LABEL_RUN, newRunId, resourceName, runLabels } from './labels.ts';
import { NodeContainer } from './node-container.ts';
import { waitFor } from '../../wait.ts';
import { runWithIdleAgent } from './agent.ts';

/** One volume of a node: an ext4 image on its failure domain's Docker volume, loop-mounted in the node. */
export interface LunSpec {
  /** Short name, e.g. `data` or `repo`. */
  name: string;
  domain: string;
  /** Where the node mounts it. */
  mountPoint: string;
  bytes: number;
  /** Owner of the mounted file system's root, e.g. `postgres`. */
  owner: string;
}

/**
 * faultfs (docker/faultfs) stacked on every LUN of a run: the server then uses its volume through
 * it, and faults can make calls fail or drop what was never fsynced (`io-error`, `power-loss`).
 */
export interface FaultfsOptions {
  /** Keep un-fsynced data apart from the start, so that a power loss can drop it. */
  lostWrites: boolean;
}

/** faultfs's control socket in a node (one LUN per node has faultfs). */
export const FAULTFS_SOCKET = '/run/faultfs.sock';

/** Where a LUN's ext4 file system is mounted when faultfs shows it at its mount point. */
function lowerMountPoint(lun: LunSpec): string {
  return `/var/lib/faultline/lun-${lun.name}`;
}

export interface NodeContainerSpec {
  name: string;
  image: string;
  luns: LunSpec[];
  exposedPorts: number[];
}

export interface StartedNode {
  name: string;
  container: StartedTestContainer;
  luns: StartedLun[];
}

export interface StartedLun extends LunSpec {
  imagePath: string;
  /** The failure domain's Docker volume that holds the image. */
  volume: string;
  /**
   * Where the LUN's own ext4 file system is mounted: `mountPoint`, unless faultfs is stacked on it
   * (then faults that act on the file system itself, such as fsfreeze, use this path).
   */
  fsMount: string;
  /** faultfs on this LUN: the server reaches `mountPoint` through it. */
  faultfs?: FaultfsOptions & { socket: string };
}

/** Where a domain's Docker volume is mounted inside every node that has a LUN in it. */
export function domainMountPoint(domain: string): string {
  return `/domains/${domain}`;
}

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

  private constructor(engine: Engine, id: string, faultfs: FaultfsOptions | undefined) {
    this.engine = engine;
    this.faultfs = faultfs;
    this.id = id;
    this.networkName = resourceName(id, 'net');
    this.untrack = trackRun(this);
  }

  /** Creates the run's network and one volume per failure domain. */
  static async create(domains: string[], options: { runId?: string | undefined; faultfs?: FaultfsOptions | undefined } = {}): Promise<DockerRun> {
    const engine = await getEngine();
    const run = new DockerRun(engine, options.runId ?? newRunId(), options.faultfs);
    try {
      await run.track(
        engine.docker.createNetwork({ Name: run.networkName, Labels: runLabels(run.id), CheckDuplicate: true }),
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
  async startNode(spec: NodeContainerSpec): Promise<StartedNode> {
    this.checkpoint();
    const faultfs = this.faultfs;
    const luns: StartedLun[] = spec.luns.map((lun, index) => {
      // One faultfs per node (its control socket is the node's): on its first LUN.
      const stacked = faultfs !== undefined && index === 0;
      return {
        ...lun,
        imagePath: `${domainMountPoint(lun.domain)}/${spec.name}-${lun.name}.${this.id}.img`,
        volume: this.volumeName(lun.domain),
        fsMount: stacked ? lowerMountPoint(lun) : lun.mountPoint,
        ...(stacked ? { faultfs: { ...faultfs, socket: FAULTFS_SOCKET } } : {}),
      };
    });
    const lunEnv = (l: StartedLun) =>
      [l.imagePath, l.fsMount, l.bytes, l.owner, l.faultfs ? l.mountPoint : '', l.faultfs?.lostWrites ? 'lost-writes' : ''].join('|');
    const container = new NodeContainer(spec.image)
      .withLoopDevices(this.engine.appArmor)
      .withName(resourceName(this.id, spec.name))
      .withHostname(spec.name)
      .withNetworkMode(this.networkName)
      .withNetworkAliases(spec.name)
      .withLabels({ ...runLabels(this.id), [LABEL_NODE]: spec.name })
      .withEnvironment({
        FAULTLINE_LUNS: luns.map(lunEnv).join(';'),
      })
      .withExposedPorts(...spec.exposedPorts)
      .withWaitStrategy(Wait.forLogMessage('faultline-node: ready'))
      .withStartupTimeout(60_000);
    if (faultfs) container.withFuse();
    for (const domain of new Set(luns.map((l) => l.domain))) {
      container.withNamedVolume(this.volumeName(domain), domainMountPoint(domain));
    }
    let started: StartedTestContainer;
    try {
      started = await this.track(container.start());
    } catch (error) {
      this.checkpoint();
      throw new ClusterError(`Node '${spec.name}' did not start: ${describeError(error)}`, { cause: error });
    }
    this.checkpoint();
    return { name: spec.name, container: started, luns };
  }

  /**
   * Loses a failure domain: kills and removes the given containers (the nodes with a LUN in it),
   * then deletes the domain's volume with every image on it.
   */
  async loseDomain(domain: string, containerIds: string[]): Promise<string> {
    const { docker } = this.engine;
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

  /** Waits (at most a minute) for the Docker calls in flight, e.g. containers still being created. */
  private async settleInflight(): Promise<void> {
    const deadline = new Promise((resolve) => setTimeout(resolve, 60_000).unref());
    while (this.inflight.size > 0) {
      const settled = await Promise.race([Promise.allSettled([...this.inflight]).then(() => true), deadline.then(() => false)]);
      if (!settled) return;
    }
  }

  /**
   * Removes every container, the network and the volumes labelled with this run's id. It first
   * stops the run and lets calls in flight settle: when one of several parallel container starts
   * fails, the others are still creating containers that must not escape the clean-up.
   */
  cleanup(): Promise<void> {
    this.interruptedBy ??= 'cleaned up';
    this.cleaning ??= this.settleInflight()
      .then(() => removeRunResources(this.engine, this.id))
      .finally(() => this.untrack());
    return this.cleaning;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }
}

/**
 * Removes what a run left in Docker, found by its label: containers (killed, so frozen or hung
 * servers cannot stall this), then the network and the domain volumes. Failures are collected and
 * reported together after every step was tried.
 */
export async function removeRunResources(engine: Engine, runId: string): Promise<void> {
  const { docker } = engine;
  const filters = JSON.stringify({ label: [`${LABEL_RUN}=${runId}`] });
  const problems: string[] = [];
  const containers = await docker.listContainers({ all: true, filters });
  // Processes blocked on a frozen file system or in a paused container cannot be killed, and would
  // wedge the removal: resume and thaw first (a fault's own heal normally did this already).
  await Promise.all(
    containers.map(async (c) => {
      const container = docker.getContainer(c.Id);
      if (c.State === 'paused') await container.unpause().catch(() => {});
      if (c.State === 'running' || c.State === 'paused') await thawAll(container);
    }),
  );
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch((error: unknown) => {
          if (!/No such container|is already in progress/.test(describeError(error))) problems.push(`container ${c.Names[0]}: ${describeError(error)}`);
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
        .catch((error: unknown) => problems.push(`network ${network.Name}: ${describeError(error)}`)),
    ),
    ...(volumes ?? []).map((volume) => removeVolume(engine, volume.Name).catch((error: unknown) => problems.push(`volume ${volume.Name}: ${describeError(error)}`))),
  ]);
  if (problems.length > 0) {
    throw new ClusterError(`Clean-up of run ${runId} left resources behind:\n  ${problems.join('\n  ')}\nRun 'faultline doctor --cleanup' to retry.`);
  }
}

/** Removes a volume, retrying while it is still busy just after its containers went. */
async function removeVolume(engine: Engine, name: string): Promise<void> {
  await waitFor({ what: `volume ${name} to be free to remove`, timeoutMs: 2000, intervalMs: 50 }, async (seen) => {
    const error = await engine.docker.getVolume(name).remove().then(() => undefined, (caught: unknown) => caught);
    if (!error || /no such volume/i.test(describeError(error))) return true;
    seen(describeError(error));
    return undefined;
  });
}

/** Thaws every LUN mount of a node container (bounded: never let clean-up hang). */
async function thawAll(container: import('dockerode').Container): Promise<void> {
  const thaw = ['sh', '-c', 'for m in /var/lib/faultline/*; do fsfreeze -u "$m" 2>/dev/null; done; true'];
  const bound = new Promise((resolve) => setTimeout(resolve, 5000).unref());
  try {
    // Through the node's command agent when it has one waiting (a docker exec costs far more).
    const viaAgent = runWithIdleAgent(container.id, thaw);
    if (viaAgent) {
      await Promise.race([viaAgent.catch(() => {}), bound]);
      return;
    }
    const exec = await container.exec({ Cmd: thaw, User: 'root' });
    const stream = await exec.start({});
    await Promise.race([
      new Promise((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.resume();
      }),
      bound,
    ]);
  } catch {
    // not our image, or already gone
  }
}
