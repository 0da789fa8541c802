// Thawing a run's frozen volumes before anything of it is killed: a process blocked on a frozen file
// system cannot die. From inside each container (docker exec), or from outside it when Docker cannot enter.

import { describeError } from '../../errors.ts';
import { withDeadline } from '../../wait.ts';
import { commandsRunning } from './agent.ts';
import { demux } from './demux.ts';
import type { Engine } from './engine.ts';
import { LABEL_NODE, LABEL_RUN, runLabels } from './labels.ts';

/** The bound on one thaw (a docker exec, or the helper container that thaws from outside). */
export const THAW_BOUND_MS = 5000;

export type ContainerInfo = import('dockerode').ContainerInfo;

export function nameOf(c: ContainerInfo): string {
  return c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
}

/**
 * Resumes and thaws every live container of a run, at once. A command that was already on its way
 * when the run was fenced (a fault's freeze sent a moment before) may land after that thaw: the
 * run's commands get a moment to end, and every volume is thawed once more.
 */
export async function thawRun(engine: Engine, runId: string, containers: ContainerInfo[], log: (line: string) => void): Promise<void> {
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
export function rescueThaw(engine: Engine, c: ContainerInfo): Promise<string[]> {
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

export function rescuesOf(runId: string): Promise<unknown>[] {
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

/** `work`, or a rejection once `ms` have passed (the work itself goes on; its outcome is ignored). */
export function within<T>(work: Promise<T>, ms: number): Promise<T> {
  return withDeadline(work, { phase: 'a clean-up step', ms, awaited: 'it to end', error: () => new Error(`not done within ${ms} ms`) });
}
