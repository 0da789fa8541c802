// Commands in a node container without a `docker exec` each: a few command agents per container
// (agent-process.ts), one per command at a time, and a fence that refuses commands of a run being removed.
//
// Why: a docker exec costs about 100 ms here (three calls to the engine, and runc entering the
// container), and a run makes dozens of them between its faults, its recovery, the restore rehearsal
// and the final read. So each node keeps a few command agents: a small Perl loop, started once by a
// docker exec whose standard input and output stay attached, that runs one command at a time as the
// user asked for and answers with its exit code and output. A command then costs a fork and an exec
// in the container.
//
// What a docker exec would do, an agent does too: the command runs in the container's namespaces
// and cgroup, as the user named (with that user's groups and home), with the container's
// environment plus the one given, standard input empty, and a signal's death reported as 128 + the
// signal. What it does not do is fail on a paused container (a docker exec is refused at once;
// an agent's command would wait for the resume): a paused container is told to `markPaused`, and
// its commands go through docker exec again until it is resumed. Commands run side by side on
// one node take an agent each: a busy agent (a command hung on a frozen file system, say) never
// delays another command. An agent whose container died or went away ends with its stream; the
// command it was running fails, and the next one starts a new agent, or fails as a docker exec would.

import type { Duplex } from 'node:stream';
import type { StartedTestContainer } from 'testcontainers';
import { getEngine } from './engine.ts';
import { withDeadline } from '../../wait.ts';
import { InterruptedError } from '../../errors.ts';
import { LABEL_RUN } from './labels.ts';
import { Agent, AGENT, encode } from './agent-process.ts';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /** A user name (or uid) in the container. Default root. */
  user?: string;
  env?: Record<string, string>;
  /**
   * The longest the command may take (default EXEC_BOUND_MS): past it the call fails saying so,
   * and the agent it ran on is dropped (a command stuck on a frozen file system holds it).
   */
  timeoutMs?: number;
}

/** The longest any command of the harness may take in a node unless its caller says otherwise. */
export const EXEC_BOUND_MS = 180_000;

/** A command in a node that did not end within its bound. */
export class CommandTimeout extends Error {
  constructor(command: readonly string[], ms: number) {
    super(`'${command.join(' ').slice(0, 200)}' did not end within its bound of ${Math.round(ms / 1000)} s`);
    this.name = 'CommandTimeout';
  }
}

const agents = new Map<string, Agent[]>();
const paused = new Set<string>();

/** A paused container's commands go through docker exec (refused at once) until it is resumed. */
export function markPaused(container: StartedTestContainer, isPaused: boolean): void {
  if (isPaused) paused.add(container.getId());
  else paused.delete(container.getId());
}

async function startAgent(containerId: string): Promise<Agent> {
  const { docker } = await getEngine();
  const exec = await docker.getContainer(containerId).exec({
    Cmd: ['perl', '-e', AGENT],
    User: 'root',
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
  const agent = new Agent(stream, () => {
    const list = agents.get(containerId);
    if (!list) return;
    const left = list.filter((a) => a !== agent);
    if (left.length > 0) agents.set(containerId, left);
    else agents.delete(containerId);
  });
  agent.busy = true; // its caller's: nobody else takes it before that caller's command is sent
  const list = agents.get(containerId) ?? [];
  list.push(agent);
  agents.set(containerId, list);
  return agent;
}

/**
 * Runs a command in a node container, as `container.exec` would, through an idle agent of that
 * container, or a new one. When no agent can be started (no perl in the image, the container not
 * running), the command goes through docker exec, which fails or works as it always did. Once the
 * container's run is being removed (fenceRun), a new command is refused with an InterruptedError.
 */
export function runInContainer(container: StartedTestContainer, command: string[], options: CommandOptions = {}): Promise<CommandResult> {
  const runId = container.getLabels?.()[LABEL_RUN];
  if (runId !== undefined && fenced.has(runId)) {
    return Promise.reject(new InterruptedError(`Run ${runId} is being removed: '${command.join(' ').slice(0, 80)}' was not started in ${container.getName()}`));
  }
  const work = runCommand(container, command, options);
  if (runId !== undefined) {
    const set = running.get(runId) ?? new Set<Promise<unknown>>();
    running.set(runId, set);
    set.add(work);
    const forget = () => {
      set.delete(work);
      if (set.size === 0 && running.get(runId) === set) running.delete(runId);
    };
    work.then(forget, forget);
  }
  return work;
}

/**
 * Runs whose containers are being removed: they take no new command. Clean-up thaws every volume
 * before it kills anything, and a fault's freeze sent after that thaw would wedge the kill.
 */
const fenced = new Set<string>();
/** Commands running now in each run's containers (by run id). */
const running = new Map<string, Set<Promise<unknown>>>();

/** From now on, commands in this run's containers are refused (an InterruptedError): it is being removed. */
export function fenceRun(runId: string): void {
  fenced.add(runId);
}

/** The commands still running in a run's containers (one may be a freeze still on its way). */
export function commandsRunning(runId: string): Promise<unknown>[] {
  return [...(running.get(runId) ?? [])];
}

async function runCommand(container: StartedTestContainer, command: string[], options: CommandOptions): Promise<CommandResult> {
  const id = container.getId();
  const request = encode(command, options);
  const ms = options.timeoutMs ?? EXEC_BOUND_MS;
  if (!paused.has(id)) {
    const agent = idleAgent(id) ?? (await startAgent(id).catch(() => undefined));
    if (agent) return bound(agent.run(request), command, ms, () => agent.abandon());
  }
  const result = await bound(container.exec(command, { ...(options.user ? { user: options.user } : {}), ...(options.env ? { env: options.env } : {}) }), command, ms);
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

/** `work`, or a CommandTimeout once `ms` have passed (then `onTimeout`). */
function bound<T>(work: Promise<T>, command: readonly string[], ms: number, onTimeout?: () => void): Promise<T> {
  return withDeadline(work, { phase: 'a command', ms, awaited: command.join(' '), error: () => new CommandTimeout(command, ms), ...(onTimeout ? { onTimeout } : {}) });
}

/** An agent of the container waiting for work; none while the container is paused. */
function idleAgent(containerId: string): Agent | undefined {
  if (paused.has(containerId)) return undefined;
  return agents.get(containerId)?.find((a) => a.alive && !a.busy);
}
