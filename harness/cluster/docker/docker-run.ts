// One run's Docker resources: a network, one volume per failure domain, and the node containers.
// Everything is labelled with the run id, and clean-up removes by label, so a container that was
// being created when the run was interrupted is removed too. Clean-up is idempotent.

import type { StartedTestContainer } from 'testcontainers';
import { Wait } from 'testcontainers';
import { ClusterError, InterruptedError, describeError } from '../../errors.ts';
import { getEngine, type Engine } from './engine.ts';
import { interruptInProgress, trackRun } from './interrupts.ts';
import { LABEL_DOMAIN, LABEL_NODE, LABEL_RUN, newRunId, resourceName, runLabels } from './labels.ts';
import { NodeContainer } from './node-container.ts';
import { mkdtemp, readFile, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { sleep, waitFor, withDeadline } from '../../wait.ts';
import { commandsRunning, fenceRun } from './agent.ts';
import { demux } from './demux.ts';
import { collectRunLogs, writeLogsManifest, type NodeLogs } from './logs.ts';
import type { LogsManifest, RunLog } from '../../report/logs.ts';

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

/** Where a run keeps its nodes' logs (the run folder's `logs/`), and which logs its engine's nodes have. */
export interface RunLogsOptions extends NodeLogs {
  dir: string;
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
  /** Set when the run keeps its nodes' logs; what was collected so far, by node. */
  private readonly logs: RunLogsOptions | undefined;
  private readonly collected = new Map<string, RunLog[]>();
  private readonly logProblems: string[] = [];

  private constructor(engine: Engine, id: string, faultfs: FaultfsOptions | undefined, logs: RunLogsOptions | undefined) {
    this.engine = engine;
    this.faultfs = faultfs;
    this.logs = logs;
    this.id = id;
    this.networkName = resourceName(id, 'net');
    this.untrack = trackRun(this);
  }

  /** Creates the run's network and one volume per failure domain. */
  static async create(
    domains: string[],
    options: { runId?: string | undefined; faultfs?: FaultfsOptions | undefined; logs?: RunLogsOptions | undefined } = {},
  ): Promise<DockerRun> {
    const engine = await getEngine();
    const run = new DockerRun(engine, options.runId ?? newRunId(), options.faultfs, options.logs);
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
   * then deletes the domain's volume with every image on it. A run that keeps logs copies the lost
   * nodes' logs between the kill and the removal: they are faultline's evidence, not the SAN's.
   */
  async loseDomain(domain: string, containerIds: string[]): Promise<string> {
    const { docker } = this.engine;
    if (this.logs) {
      await Promise.all(containerIds.map((id) => this.track(docker.getContainer(id).kill().catch(() => {}))));
      await this.track(this.collectLogs(containerIds));
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
      .then(() => this.collectLogs())
      .then(() => removeRunResources(this.engine, this.id))
      .finally(() => this.untrack());
    return this.cleaning;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  /**
   * Copies the logs of the run's containers (of `containerIds` only, when given) into the run's
   * `logs/` and rewrites its manifest. Bounded in time (logs.ts), and it never throws: a failure
   * to collect a log must not keep a run's containers from being removed.
   */
  private async collectLogs(containerIds?: string[]): Promise<void> {
    if (!this.logs) return;
    try {
      const found: LogsManifest = await collectRunLogs(this.engine.docker, this.id, this.logs, this.logs.dir, containerIds ? { containerIds } : {});
      const nodes = new Map<string, RunLog[]>();
      for (const log of found.logs) nodes.set(log.node, [...(nodes.get(log.node) ?? []), log]);
      for (const [node, logs] of nodes) this.collected.set(node, logs);
      this.logProblems.push(...found.problems);
      writeLogsManifest(this.logs.dir, { logs: [...this.collected.values()].flat(), problems: this.logProblems });
    } catch (error) {
      this.logProblems.push(`the logs could not be kept: ${describeError(error)}`);
    }
  }
}

/** How long removing a run may take before it gives up and says what is left (a signal's whole clean-up must end within 30 s). */
export const REMOVAL_BOUND_MS = 20_000;
/** Under a signal, how long clean-up waits for the run's Docker calls in flight before removing anyway (sweep catches what they make later). */
const SIGNAL_SETTLE_MS = 3000;
/** How long a killed container may take to exit before something in it is taken to be stuck on a frozen volume. */
const KILL_PATIENCE_MS = 1500;
/** The bound on one thaw (a docker exec, or the helper container that thaws from outside). */
const THAW_BOUND_MS = 5000;

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
async function removeVolume(engine: Engine, name: string): Promise<void> {
  await waitFor({ what: `volume ${name} to be free to remove`, timeoutMs: 2000, intervalMs: 50 }, async (seen) => {
    const error = await engine.docker.getVolume(name).remove().then(() => undefined, (caught: unknown) => caught);
    if (!error || /no such volume/i.test(describeError(error))) return true;
    seen(describeError(error));
    return undefined;
  });
}

type ContainerInfo = import('dockerode').ContainerInfo;

function nameOf(c: ContainerInfo): string {
  return c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
}

/**
 * Resumes and thaws every live container of a run, at once. A command that was already on its way
 * when the run was fenced (a fault's freeze sent a moment before) may land after that thaw: the
 * run's commands get a moment to end, and every volume is thawed once more.
 */
async function thawRun(engine: Engine, runId: string, containers: ContainerInfo[], log: (line: string) => void): Promise<void> {
  const live = containers.filter((c) => c.State === 'running' || c.State === 'paused');
  const thawEach = () =>
    Promise.all(
      live.map(async (c) => {
        for (const mount of await thawAll(engine, c)) log(`thawed ${mount} in ${nameOf(c)}`);
      }),
    );
  await Promise.all(live.filter((c) => c.State === 'paused').map((c) => within(engine.docker.getContainer(c.Id).unpause(), THAW_BOUND_MS).catch(() => {})));
  await thawEach();
  const running = commandsRunning(runId);
  if (running.length === 0) return;
  await within(Promise.allSettled(running), 1000).catch(() => {});
  await thawEach();
}

/**
 * The loop-mounted volumes of a container, each thawed: every `/dev/loop*` mount its mount table
 * lists (a LUN at its mount point, or below faultfs at /var/lib/faultline/lun-<name>; FUSE itself
 * cannot be frozen). `fsfreeze -u` succeeds only on a frozen file system: the script prints those.
 */
const THAW_SCRIPT = String.raw`
while read -r dev mnt rest; do
  case $dev in /dev/loop*) fsfreeze -u "$mnt" 2>/dev/null && echo "thawed $mnt" ;; esac
done < "$1"
echo thaw-done`;

/**
 * Thaws every loop-mounted volume of a node container with a `docker exec` of its own, never through
 * a command agent (one may be blocked on the frozen volume, or be the one freezing it). When Docker
 * cannot enter the container any more (its first process died in a kill that a process stuck on a
 * frozen volume cannot obey), the thaw goes in from outside (rescueThaw). Bounded; never throws.
 * Returns the mount points that were frozen.
 */
async function thawAll(engine: Engine, c: ContainerInfo): Promise<string[]> {
  const container = engine.docker.getContainer(c.Id);
  const thawed = await within(execThaw(container), THAW_BOUND_MS).catch(() => undefined);
  if (thawed) return thawed;
  // Not run: a container that went meanwhile (nothing to thaw), or one Docker cannot enter any more.
  const running = await within(container.inspect(), THAW_BOUND_MS).then((info) => info.State.Running, () => false);
  return running ? within(rescueThaw(engine, c), THAW_BOUND_MS).catch(() => []) : [];
}

/** THAW_SCRIPT in a docker exec of its own: what it thawed, [] when the container is not running, undefined when it did not run. */
async function execThaw(container: import('dockerode').Container): Promise<string[] | undefined> {
  let stream: import('node:stream').Duplex | undefined;
  try {
    const exec = await container.exec({ Cmd: ['sh', '-c', THAW_SCRIPT, 'thaw', '/proc/mounts'], User: 'root', AttachStdout: true, AttachStderr: true });
    stream = (await exec.start({})) as import('node:stream').Duplex;
    let output = '';
    await demux(stream, (chunk) => void (output += chunk.toString()), (chunk) => void (output += chunk.toString()));
    return /^thaw-done$/m.test(output) ? thawedIn(output) : undefined;
  } catch (error) {
    return /is not running|No such container|is paused/i.test(describeError(error)) ? [] : undefined;
  } finally {
    stream?.destroy();
  }
}

function thawedIn(output: string): string[] {
  return [...output.matchAll(/^thawed (.+)$/gm)].map((m) => m[1]!);
}

/**
 * Thaws a container's volumes from outside it: a short-lived helper container of the same image, in
 * the host's process namespace, finds a process still in the container (by its cgroup), reads that
 * process's mount table and runs `fsfreeze -u` in its mount namespace (nsenter). This works when
 * Docker can no longer enter the container, which is the state a kill leaves a container in when a
 * process of it is stuck on a frozen volume. The helper carries the run's labels, so a clean-up that
 * dies meanwhile leaves nothing `faultline doctor` cannot find. Bounded; never throws.
 */
function rescueThaw(engine: Engine, c: ContainerInfo): Promise<string[]> {
  const runId = c.Labels?.[LABEL_RUN] ?? '';
  const work = thawFromOutside(engine, c, runId);
  const set = rescues.get(runId) ?? new Set<Promise<unknown>>();
  rescues.set(runId, set);
  set.add(work);
  void work.finally(() => set.delete(work));
  return work;
}

/** Helper containers at work (rescueThaw), by run: a forced clean-up waits for them, then removes them. */
const rescues = new Map<string, Set<Promise<unknown>>>();

function rescuesOf(runId: string): Promise<unknown>[] {
  return [...(rescues.get(runId) ?? [])];
}

async function thawFromOutside(engine: Engine, c: ContainerInfo, runId: string): Promise<string[]> {
  const script = String.raw`
id=$1
for p in /proc/[0-9]*; do
  grep -qs "$id" "$p/cgroup" || continue
  mounts=$(cat "$p/mounts" 2>/dev/null) || continue
  [ -n "$mounts" ] || continue
  pid=$(basename "$p")
  echo "$mounts" | while read -r dev mnt rest; do
    case $dev in /dev/loop*) nsenter -t "$pid" -m fsfreeze -u "$mnt" 2>/dev/null && echo "thawed $mnt" ;; esac
  done
  break
done
echo thaw-done`;
  let helper: import('dockerode').Container | undefined;
  try {
    helper = await engine.docker.createContainer({
      Image: c.ImageID,
      Entrypoint: ['timeout', '-s', 'KILL', String(THAW_BOUND_MS / 1000 - 1), 'sh', '-c', script, 'rescue-thaw', c.Id],
      User: 'root',
      Tty: true, // plain output, no stream frames
      Labels: { ...(runId ? runLabels(runId) : {}), [LABEL_NODE]: 'thaw-helper' },
      HostConfig: {
        AutoRemove: true, // gone once it has run, also when this process is not there to remove it
        PidMode: 'host',
        NetworkMode: 'none',
        CapAdd: ['SYS_ADMIN', 'SYS_PTRACE'],
        ...(engine.appArmor ? { SecurityOpt: ['apparmor=unconfined'] } : {}),
      },
    });
    const stream = (await helper.attach({ stream: true, stdout: true, stderr: true })) as unknown as import('node:stream').Duplex;
    let output = '';
    const ended = new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => void (output += chunk.toString()));
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    await helper.start();
    await ended;
    return thawedIn(output.replace(/\r/g, ''));
  } catch {
    return [];
  } finally {
    await helper?.remove({ force: true }).catch(() => {});
  }
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

/**
 * LUN images are named `<node>-<lun>.<runId>.img` under `/domains/<domain>/` (startNode). The kernel
 * names a loop device's backing file as its attacher saw it; once the domain's volume is deleted it
 * may show only the file's name (`/pg-primary-data.1a2b3c4d.img (deleted)`).
 */
const LUN_IMAGE = /(?:^|\/)[^/]+\.([0-9a-f]{8})\.img$/;

export interface LoopLeftover {
  device: string;
  backingFile: string;
  runId: string | undefined;
}

/** The host's loop devices backed by a faultline LUN image (none when the engine is on another host). */
export async function listLoopDevices(): Promise<LoopLeftover[]> {
  const result = await execa('losetup', ['--json', '--list', '--output', 'NAME,BACK-FILE'], { reject: false });
  if (result.exitCode !== 0 || !result.stdout.trim()) return [];
  const parsed = JSON.parse(result.stdout) as { loopdevices?: Array<{ name: string; 'back-file': string | null }> };
  return (parsed.loopdevices ?? [])
    .map((d) => ({ device: d.name, backingFile: (d['back-file'] ?? '').replace(/ \(deleted\)$/, '') }))
    .filter((d) => LUN_IMAGE.test(d.backingFile))
    .map((d) => ({ ...d, runId: LUN_IMAGE.exec(d.backingFile)?.[1] }));
}

/**
 * Releases the run's loop devices still attached once its containers are gone. The kernel releases a
 * LUN's device by itself when its file system goes with its last mount (fl-lun sets it to clear),
 * shortly after the container died. Two kinds stay: a device attached but never mounted (its
 * container was killed between fl-lun's `losetup` and `mount`), and one whose file system was frozen
 * when its last mount went: the kernel keeps a frozen file system, and its device, until it is
 * thawed, and with no mount left nothing can thaw it. Mounting the device again reaches that same
 * file system: it is thawed there and unmounted, and the device detached. This needs root on the
 * engine's host (as `losetup` does). Returns what is still attached.
 */
export async function releaseLoopDevices(runId: string, log: (line: string) => void = () => {}): Promise<string[]> {
  const ofRun = async () => (await listLoopDevices()).filter((l) => l.runId === runId);
  const gone = async (ms: number) => {
    let left = await ofRun();
    for (let waited = 0; left.length > 0 && waited < ms; waited += 100) {
      await sleep(100);
      left = await ofRun();
    }
    return left;
  };
  const left = await gone(1000);
  for (const loop of left) {
    // Still this run's? The kernel may have released it meanwhile and another run taken it.
    if (!(await backedByRun(loop.device, runId))) continue;
    if (await thawOrphan(loop.device)) log(`thawed the file system on ${loop.device} (${loop.backingFile}): it was frozen with no mount left`);
    if (!(await backedByRun(loop.device, runId))) continue;
    const detached = await execa('losetup', ['-d', loop.device], { reject: false, timeout: 5000 });
    if (detached.exitCode === 0) log(`detached ${loop.device} (${loop.backingFile})`);
  }
  const still = left.length > 0 ? await gone(1000) : [];
  return still.map((loop) => `loop device ${loop.device} (${loop.backingFile}) is still attached${process.getuid?.() === 0 ? '' : ': releasing it needs root on the engine\'s host'}`);
}

async function backedByRun(device: string, runId: string): Promise<boolean> {
  const name = device.replace(/^\/dev\//, '');
  const file = await readFile(`/sys/block/${name}/loop/backing_file`, 'utf8').catch(() => '');
  return LUN_IMAGE.exec(file.trim().replace(/ \(deleted\)$/, ''))?.[1] === runId;
}

/** Mounts a loop device on the host, thaws what it holds and unmounts it; true when it was frozen. */
async function thawOrphan(device: string): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'faultline-loop-'));
  try {
    const mounted = await execa('mount', ['-t', 'ext4', device, dir], { reject: false, timeout: 5000 });
    if (mounted.exitCode !== 0) return false;
    const thawed = await execa('fsfreeze', ['-u', dir], { reject: false, timeout: 5000 });
    await execa('umount', [dir], { reject: false, timeout: 5000 });
    return thawed.exitCode === 0;
  } finally {
    await rmdir(dir).catch(() => {});
  }
}

/** `work`, or a rejection once `ms` have passed (the work itself goes on; its outcome is ignored). */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  return withDeadline(work, { phase: 'a clean-up step', ms, awaited: 'it to end', error: () => new Error(`not done within ${ms} ms`) });
}
