// A command's output in one container fed to a command in another, through the Docker engine
// (two execs, one's standard output streamed into the other's standard input): how files move
// between nodes (`tar -c | tar -x`) without a staging copy on either side or in this process.

import type { Duplex } from 'node:stream';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { StartedTestContainer } from 'testcontainers';
import { ClusterError } from '../../errors.ts';
import { getEngine } from './engine.ts';
import { demux } from './demux.ts';
import { runInContainer } from './agent.ts';

export interface PipeEnd {
  container: StartedTestContainer;
  /** For messages: the node's name. */
  name: string;
  command: string[];
  /** What the command does, for messages (default: the command itself). */
  what?: string;
  /** Default root. */
  user?: string;
}

/**
 * Runs `from.command`, streaming its standard output into `to.command`'s standard input, with
 * back-pressure (the reader sets the pace; nothing is held in memory). Resolves when both ended
 * with exit 0; otherwise throws with both commands' exit codes and error output.
 */
export async function pipeBetween(from: PipeEnd, to: PipeEnd): Promise<void> {
  const { docker } = await getEngine();
  const start = async (end: PipeEnd, stdin: boolean) => {
    const exec = await docker.getContainer(end.container.getId()).exec({
      Cmd: end.command,
      User: end.user ?? 'root',
      AttachStdin: stdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const stream = (await exec.start({ hijack: true, stdin })) as Duplex;
    return { exec, stream };
  };
  // The sender says its process id, so that it can be stopped when the receiver fails: Docker
  // does not end a command whose output nobody reads any more. It removes the file when it ends.
  const pidFile = `/tmp/faultline-pipe-${randomUUID()}.pid`;
  const sender = { ...from, command: ['bash', '-c', 'echo $$ > "$0"; "$@"; s=$?; rm -f "$0"; exit $s', pidFile, ...from.command] };
  const writer = await start(to, true);
  const reader = await start(sender, false).catch((error: unknown) => {
    writer.stream.destroy();
    throw error;
  });
  const readerErr: Buffer[] = [];
  const writerOut: Buffer[] = [];
  // The writer's own output (tar -x says little) is collected for the error message.
  writer.stream.on('error', () => {}); // a writer that died shows in its exit code
  const collected = demux(writer.stream, (chunk) => void writerOut.push(chunk), (chunk) => void writerOut.push(chunk)).catch(() => {});
  const writerGone = new Error('the receiving command ended before its input did');
  try {
    await demux(
      reader.stream,
      async (chunk) => {
        if (writer.stream.destroyed) throw writerGone;
        if (!writer.stream.write(chunk)) await drained(writer.stream);
      },
      (chunk) => void readerErr.push(chunk),
    );
  } catch (error) {
    if (error !== writerGone) throw error;
    reader.stream.destroy();
    await stopSender(from, pidFile);
  } finally {
    // End of input: the writing command sees EOF on its standard input, and exits.
    writer.stream.end();
  }
  await collected;
  const [readerExit, writerExit] = await Promise.all([exitCode(reader.exec), exitCode(writer.exec)]);
  if (readerExit !== 0 || writerExit !== 0) {
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8').trim().slice(-2000);
    const what = (end: PipeEnd) => end.what ?? `'${end.command.join(' ')}'`;
    throw new ClusterError(
      `copying from '${from.name}' to '${to.name}' failed: ${what(from)} on ${from.name} exited ${readerExit}${readerErr.length ? ` (${text(readerErr)})` : ''}, ` +
        `${what(to)} on ${to.name} exited ${writerExit}${writerOut.length ? ` (${text(writerOut)})` : ''}`,
    );
  }
}

/** Stops the sending command and everything it started (TERM, children first), and removes its pid file. */
async function stopSender(from: PipeEnd, pidFile: string): Promise<void> {
  const script = 'k() { for c in $(pgrep -P "$1"); do k "$c"; done; kill -TERM "$1" 2>/dev/null; }; [ -s "$0" ] && k "$(cat "$0")"; rm -f "$0"; true';
  await runInContainer(from.container, ['bash', '-c', script, pidFile], { user: 'root' }).catch(() => {});
}

/** Until `stream` can take more, or closed. */
async function drained(stream: Duplex): Promise<void> {
  const stop = new AbortController();
  try {
    await Promise.race([once(stream, 'drain', { signal: stop.signal }), once(stream, 'close', { signal: stop.signal })]);
  } finally {
    stop.abort();
  }
}

/** The exit code of a finished exec (it can lag the end of its stream for a moment). */
async function exitCode(exec: { inspect(): Promise<{ Running: boolean; ExitCode: number | null }> }): Promise<number> {
  for (let i = 0; ; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    if (i >= 200) throw new ClusterError('a copy between nodes did not report its exit code within 10 s of its end');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
