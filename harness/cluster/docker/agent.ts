// Commands in a node container without a `docker exec` each. A docker exec costs about 100 ms here
// (three calls to the engine, and runc entering the container), and a run makes dozens of them
// between its faults, its recovery, the restore rehearsal and the final read. So each node keeps a
// few command agents: a small Perl loop, started once by a docker exec whose standard input and
// output stay attached, that runs one command at a time as the user asked for and answers with
// its exit code and output. A command then costs a fork and an exec in the container.
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
import type { Socket } from 'node:net';
import type { StartedTestContainer } from 'testcontainers';
import { getEngine } from './engine.ts';
import { demux } from './demux.ts';
import { withDeadline } from '../../wait.ts';
import { InterruptedError } from '../../errors.ts';
import { LABEL_RUN } from './labels.ts';

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

/**
 * The agent. Request: a 4-byte length, then NUL-separated fields: user, the number of environment
 * entries, the entries (KEY=value), the command's arguments. Answer: exit code, stdout length,
 * stderr length (4 bytes each), then stdout and stderr. Output is read to its end; once the command
 * has exited, output still held open by something it left running in the background is waited for
 * only half a second more.
 */
const AGENT = String.raw`
use strict; use warnings; use POSIX (); use IO::Select;
binmode STDIN; binmode STDOUT; delete $ENV{HOME};
$SIG{PIPE} = 'DEFAULT';
sub readn { my ($n) = @_; my $b = ''; while (length($b) < $n) { my $r = sysread(STDIN, $b, $n - length($b), length($b)); return undef if !$r; } return $b; }
sub writeall { my ($d) = @_; while (length $d) { my $w = syswrite(STDOUT, $d); die "agent: write: $!\n" if !defined $w; substr($d, 0, $w) = ''; } }
while (defined(my $head = readn(4))) {
  my $body = readn(unpack('N', $head)); last if !defined $body;
  my ($user, $count, @rest) = split(/\0/, $body, -1);
  my @env = splice(@rest, 0, $count);
  my @argv = @rest;
  pipe(my $or, my $ow) or die "agent: pipe: $!\n";
  pipe(my $er, my $ew) or die "agent: pipe: $!\n";
  my $pid = fork();
  die "agent: fork: $!\n" if !defined $pid;
  if ($pid == 0) {
    close $or; close $er;
    open(STDIN, '<', '/dev/null'); open(STDOUT, '>&', $ow); open(STDERR, '>&', $ew); close $ow; close $ew;
    $SIG{PIPE} = 'DEFAULT';
    for (@env) { my ($k, $v) = split(/=/, $_, 2); $ENV{$k} = $v; }
    my @pw = $user =~ /^\d+$/ ? getpwuid($user) : getpwnam($user);
    @pw = ($user, 'x', $user, 0, '', '', '', '/') if !@pw && $user =~ /^\d+$/; # as Docker: a uid of no entry, group 0
    if (!@pw) { syswrite(STDOUT, "unable to find user $user: no matching entries in passwd file\n"); POSIX::_exit(126); }
    my ($name, $uid, $gid, $home) = @pw[0, 2, 3, 7];
    my @groups;
    while (my @g = getgrent()) { push @groups, $g[2] if grep { $_ eq $name } split(/ /, $g[3]); }
    endgrent();
    $) = join(' ', $gid, $gid, @groups); $( = $gid;
    POSIX::setuid($uid) or do { syswrite(STDERR, "agent: setuid $uid: $!\n"); POSIX::_exit(126); };
    $ENV{HOME} = $home if !defined $ENV{HOME};
    { no warnings 'exec'; exec { $argv[0] } @argv; }
    syswrite(STDOUT, "exec failed: exec: \"$argv[0]\": " . ($!{ENOENT} && $argv[0] !~ m{/} ? 'executable file not found in $PATH' : "$!") . "\n"); POSIX::_exit(126);
  }
  close $ow; close $ew;
  my $sel = IO::Select->new($or, $er);
  my %got = ($or => '', $er => '');
  my ($status, $quiet) = (undef, 0);
  while ($sel->count) {
    my @ready = $sel->can_read(0.1);
    if (!@ready) {
      if (!defined $status && waitpid($pid, POSIX::WNOHANG()) == $pid) { $status = $?; }
      if (defined $status) { $quiet += 0.1; last if $quiet >= 0.5; }
      next;
    }
    $quiet = 0;
    for my $fh (@ready) {
      my $r = sysread($fh, $got{$fh}, 65536, length $got{$fh});
      if (!$r) { $sel->remove($fh); }
    }
  }
  close $or; close $er;
  if (!defined $status) { waitpid($pid, 0); $status = $?; }
  my $code = ($status & 127) ? 128 + ($status & 127) : $status >> 8;
  writeall(pack('NNN', $code, length $got{$or}, length $got{$er}) . $got{$or} . $got{$er});
}
`;

class Agent {
  #stream: Duplex;
  #pending: { resolve: (result: CommandResult) => void; reject: (error: Error) => void } | undefined;
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** The length of the answer being read (header included), once its header came. */
  #total: number | undefined;
  #said: Buffer[] = [];
  busy = false;
  alive = true;

  constructor(stream: Duplex, onEnd: () => void) {
    this.#stream = stream;
    stream.on('error', () => {});
    this.#idle();
    demux(stream, (chunk) => this.#take(chunk), (chunk) => void this.#said.push(chunk))
      .catch(() => {})
      .finally(() => {
        this.alive = false;
        const said = Buffer.concat(this.#said).toString('utf8').trim();
        this.#pending?.reject(new Error(`the container's command agent ended${said ? `: ${said.slice(-500)}` : ''} (the container stopped or was removed?)`));
        this.#pending = undefined;
        onEnd();
      });
  }

  /** Lets this process exit while the agent waits for work (its socket would hold it open). */
  #idle(): void {
    (this.#stream as Partial<Socket>).unref?.();
  }

  /** Gives up on this agent (its command overran): it takes no more work, and its stream is closed. */
  abandon(): void {
    this.alive = false;
    this.#stream.destroy();
  }

  run(request: Buffer): Promise<CommandResult> {
    this.busy = true;
    (this.#stream as Partial<Socket>).ref?.();
    return new Promise<CommandResult>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#stream.write(request);
    }).finally(() => {
      this.busy = false;
      if (this.alive) this.#idle();
    });
  }

  #take(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#total === undefined) {
      if (this.#bytes < 12) return;
      const head = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
      this.#chunks = [head];
      this.#total = 12 + head.readUInt32BE(4) + head.readUInt32BE(8);
    }
    if (this.#bytes < this.#total) return; // the answer's output is joined once, when all of it came
    const data = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const outEnd = 12 + data.readUInt32BE(4);
    const result = { exitCode: data.readUInt32BE(0), stdout: data.toString('utf8', 12, outEnd), stderr: data.toString('utf8', outEnd, this.#total) };
    const rest = data.subarray(this.#total);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#bytes = rest.length;
    this.#total = undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve(result);
  }
}

const agents = new Map<string, Agent[]>();
const paused = new Set<string>();

/** A paused container's commands go through docker exec (refused at once) until it is resumed. */
export function markPaused(container: StartedTestContainer, isPaused: boolean): void {
  if (isPaused) paused.add(container.getId());
  else paused.delete(container.getId());
}

function encode(command: readonly string[], options: CommandOptions): Buffer {
  const env = Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const field of [...command, ...env]) {
    if (field.includes('\0')) throw new Error(`a command argument or environment entry holds a NUL byte: ${JSON.stringify(field.slice(0, 80))}`);
  }
  if (command.length === 0) throw new Error('an empty command');
  const body = Buffer.from([options.user ?? 'root', String(env.length), ...env, ...command].join('\0'), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
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
