// Every node's logs, kept with the run: before a run's containers are removed (at its end, when it
// breaks, when it is interrupted, when a failure domain is lost), each container's output and the
// log files its engine names are copied to `logs/<node>/` in the run's folder, the last 10 MiB of
// each. Files come out through Docker's archive API (one tar stream per path, no exec), which works
// on a stopped or paused container and never reads a LUN (logs live in the container's own file
// system), so a frozen volume cannot stall it; the whole collection is bounded in time as well.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { Readable, type Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { describeError } from '../../errors.ts';
import { LOGS_MANIFEST, type LogsManifest, type RunLog } from '../../report/logs.ts';
import { demux } from './demux.ts';
import { LABEL_NODE, LABEL_RUN } from './labels.ts';

/** How much of each log is kept: its last 10 MiB. */
export const LOG_TAIL_BYTES = 10 * 1024 * 1024;
/** The bound on one collection (every node in parallel): clean-up must never wait on it for long. */
export const COLLECT_TIMEOUT_MS = 15_000;
/** The container's own output (`docker logs`), under `logs/<node>/`. */
export const CONTAINER_LOG = 'container.log';

/** A log in a node's container: a file, or a folder whose files are all kept. */
export interface LogSource {
  path: string;
  /** A folder under `logs/<node>/` to put its files in ('' or absent: directly there). */
  into?: string;
}

/** What an engine keeps of its nodes: where their logs are, and which lines explain a failure. */
export interface NodeLogs {
  sources: LogSource[];
  /** Lines worth quoting (a PANIC, an error): the last few of each file are listed with it. */
  notable?: RegExp;
  /** Lines `notable` matches that every run has (a session ended by a shutdown), not listed. */
  routine?: RegExp;
}

/** How many notable lines of a file are listed. */
const NOTABLE_LINES = 8;

/** Keeps the last `limit` bytes of a stream fed chunk by chunk, and counts what it dropped. */
export class TailKeeper {
  private chunks: Buffer[] = [];
  private kept = 0;
  private readonly limit: number;
  total = 0;
  constructor(limit = LOG_TAIL_BYTES) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    this.chunks.push(chunk);
    this.kept += chunk.length;
    while (this.kept - this.chunks[0]!.length >= this.limit) this.kept -= this.chunks.shift()!.length;
  }

  /** The last `limit` bytes, from the start of a line when one begins near the cut, and the bytes left out. */
  tail(): { data: Buffer; cutBytes: number } {
    let data = Buffer.concat(this.chunks, this.kept);
    if (data.length > this.limit) data = data.subarray(data.length - this.limit);
    let cutBytes = this.total - data.length;
    if (cutBytes > 0) {
      // A line cut in its middle is noise: start at the next whole line, if one starts soon.
      const newline = data.subarray(0, 64 * 1024).indexOf(0x0a);
      if (newline >= 0) {
        data = data.subarray(newline + 1);
        cutBytes += newline + 1;
      }
    }
    return { data, cutBytes };
  }
}

/** The line a kept log starts with when its beginning was cut. */
export function truncationNote(cutBytes: number, totalBytes: number): string {
  return `[faultline: the first ${cutBytes} of this log's ${totalBytes} bytes were cut; its last ${totalBytes - cutBytes} bytes follow]\n`;
}

/** What is written for a log: its tail, after a note saying what was cut when something was. */
export function keptLog(keeper: TailKeeper): { data: Buffer; truncated: boolean } {
  const { data, cutBytes } = keeper.tail();
  if (cutBytes === 0) return { data, truncated: false };
  return { data: Buffer.concat([Buffer.from(truncationNote(cutBytes, keeper.total)), data]), truncated: true };
}

/** The last few lines of `data` that the engine's `notable` pattern matches, and its `routine` one does not. */
export function notableLines(data: Buffer, logs: Pick<NodeLogs, 'notable' | 'routine'>): string[] {
  if (!logs.notable) return [];
  const once = (pattern: RegExp) => new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  const notable = once(logs.notable);
  const routine = logs.routine ? once(logs.routine) : undefined;
  return data
    .toString('utf8')
    .split('\n')
    .filter((line) => notable.test(line) && !routine?.test(line))
    .slice(-NOTABLE_LINES)
    .map((line) => line.slice(0, 500));
}

interface TarFile {
  name: string;
  keeper: TailKeeper;
}

/**
 * Reads a tar stream (ustar, with PAX and GNU long names, as Docker writes it), keeping the tail
 * of each regular file; folders, links and the rest are skipped.
 */
export async function readTarTails(stream: AsyncIterable<Buffer>, limit = LOG_TAIL_BYTES): Promise<TarFile[]> {
  const files: TarFile[] = [];
  let header = Buffer.alloc(0);
  let remaining = 0; // data bytes of the current entry still to come
  let padding = 0;
  let sink: ((chunk: Buffer) => void) | undefined;
  let finish: (() => void) | undefined;
  let nextName: string | undefined; // from a PAX header or a GNU long name
  for await (const data of stream) {
    let at = 0;
    while (at < data.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, data.length - at);
        sink?.(data.subarray(at, at + take));
        at += take;
        remaining -= take;
        if (remaining === 0) finish?.();
        continue;
      }
      if (padding > 0) {
        const take = Math.min(padding, data.length - at);
        at += take;
        padding -= take;
        continue;
      }
      const take = Math.min(512 - header.length, data.length - at);
      header = Buffer.concat([header, data.subarray(at, at + take)]);
      at += take;
      if (header.length < 512) continue;
      const block = header;
      header = Buffer.alloc(0);
      if (block.every((byte) => byte === 0)) continue; // the end-of-archive blocks
      const field = (from: number, length: number) => block.subarray(from, from + length).toString('utf8').replace(/\0.*$/s, '');
      const size = block[124]! & 0x80 ? Number(block.subarray(125, 136).readBigUInt64BE(3)) : parseInt(field(124, 12).trim() || '0', 8);
      const prefix = field(345, 155);
      const name = nextName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
      const type = String.fromCharCode(block[156]!);
      sink = undefined;
      finish = undefined;
      if (type === 'x' || type === 'L') {
        const parts: Buffer[] = [];
        sink = (chunk) => parts.push(Buffer.from(chunk));
        finish = () => {
          const text = Buffer.concat(parts).toString('utf8');
          nextName = type === 'L' ? text.replace(/\0.*$/s, '') : (/(?:^|\n)\d+ path=([^\n]*)\n/.exec(text)?.[1] ?? nextName);
        };
      } else {
        nextName = undefined;
        if (type === '0' || type === '\0' || type === '7') {
          const file = { name, keeper: new TailKeeper(limit) };
          files.push(file);
          sink = (chunk) => file.keeper.push(Buffer.from(chunk));
        }
      }
      remaining = size;
      padding = (512 - (size % 512)) % 512;
      if (size === 0) finish?.();
    }
  }
  return files;
}

/** Where a file of an archived source goes under `logs/<node>/`; undefined for an unsafe name. */
function destination(source: LogSource, entry: string): string | undefined {
  const base = posix.basename(source.path);
  const relative = entry === base ? base : entry.startsWith(`${base}/`) ? entry.slice(base.length + 1) : entry;
  const name = posix.normalize(posix.join(source.into ?? '', relative));
  if (name.startsWith('..') || posix.isAbsolute(name) || name === '.' || name === CONTAINER_LOG) return undefined;
  return name;
}

/** A node's collection: its container output and every file of its sources, written under `dir`. */
async function collectNode(container: Dockerode.Container, node: string, logs: NodeLogs, dir: string, signal: AbortSignal): Promise<{ logs: RunLog[]; problems: string[] }> {
  const collected: RunLog[] = [];
  const problems: string[] = [];
  const keep = (file: string, keeper: TailKeeper) => {
    if (signal.aborted) return;
    const { data, truncated } = keptLog(keeper);
    const target = join(dir, node, file);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
    const notable = notableLines(data, logs);
    collected.push({ node, file, path: posix.join('logs', node, file), bytes: keeper.total, truncated, ...(notable.length > 0 ? { notable } : {}) });
  };
  const output = async () => {
    const raw = await container.logs({ stdout: true, stderr: true, timestamps: true, follow: false, abortSignal: signal });
    const keeper = new TailKeeper();
    // Without a TTY, Docker multiplexes stdout and stderr in frames; they stay in their order here.
    if (raw.length >= 8 && raw[0]! <= 2 && raw[1] === 0 && raw[2] === 0 && raw[3] === 0) {
      const add = (chunk: Buffer) => keeper.push(Buffer.from(chunk));
      await demux(Readable.from([raw]) as unknown as Duplex, add, add);
    } else {
      keeper.push(raw);
    }
    keep(CONTAINER_LOG, keeper);
  };
  const used = new Set<string>([CONTAINER_LOG]);
  const source = async (from: LogSource) => {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await container.getArchive({ path: from.path, abortSignal: signal });
    } catch (error) {
      if (/no such file|not found|404/i.test(describeError(error))) return; // this node has none
      throw error;
    }
    signal.addEventListener('abort', () => (stream as Readable).destroy?.(), { once: true });
    for (const file of await readTarTails(stream as AsyncIterable<Buffer>)) {
      let name = destination(from, file.name);
      if (!name) continue;
      // Two sources with a file of the same name (rare): the later one gets its folder's name in front.
      if (used.has(name)) name = `${posix.basename(posix.dirname(from.path))}-${name.replace(/\//g, '-')}`;
      used.add(name);
      keep(name, file.keeper);
    }
  };
  const jobs = [output(), ...logs.sources.map(source)];
  const results = await Promise.allSettled(jobs);
  results.forEach((result, index) => {
    if (result.status === 'rejected' && !signal.aborted) {
      const what = index === 0 ? 'its container output' : logs.sources[index - 1]!.path;
      problems.push(`${node}: ${what}: ${describeError(result.reason)}`);
    }
  });
  return { logs: collected, problems };
}

/**
 * Collects the logs of a run's containers (those of `containerIds` only, when given) into `dir`,
 * every node in parallel, within `timeoutMs`. Never throws: what could not be collected is listed
 * in the returned problems, and whatever is still being read when time is up is abandoned.
 */
export async function collectRunLogs(
  docker: Dockerode,
  runId: string,
  logs: NodeLogs,
  dir: string,
  options: { containerIds?: string[]; timeoutMs?: number } = {},
): Promise<LogsManifest> {
  const abort = new AbortController();
  const timeoutMs = options.timeoutMs ?? COLLECT_TIMEOUT_MS;
  const found: LogsManifest = { logs: [], problems: [] };
  const work = (async () => {
    const filters = { label: [`${LABEL_RUN}=${runId}`], ...(options.containerIds ? { id: options.containerIds } : {}) };
    const containers = await docker.listContainers({ all: true, filters: JSON.stringify(filters) });
    mkdirSync(dir, { recursive: true });
    await Promise.all(
      containers.map(async (info) => {
        const node = info.Labels[LABEL_NODE] ?? info.Names[0]?.replace(/^\//, '') ?? info.Id.slice(0, 12);
        const { logs: kept, problems } = await collectNode(docker.getContainer(info.Id), node, logs, dir, abort.signal);
        found.logs.push(...kept);
        found.problems.push(...problems);
      }),
    );
  })();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref();
  });
  try {
    const outcome = await Promise.race([work.then(() => 'done' as const), timedOut]);
    if (outcome === 'timeout') {
      abort.abort();
      found.problems.push(`collecting the logs took longer than ${timeoutMs / 1000} s: what was still being read is not kept`);
    }
  } catch (error) {
    found.problems.push(`the logs could not be collected: ${describeError(error)}`);
  } finally {
    clearTimeout(timer);
    work.catch(() => {}); // abandoned after the time bound: its failure has no one left to tell
  }
  return { logs: [...found.logs], problems: [...found.problems] };
}

/** Writes the manifest of a run's logs (`logs/logs.json` in its folder; `dir` is its `logs/`). */
export function writeLogsManifest(dir: string, manifest: LogsManifest): void {
  const sorted = [...manifest.logs].sort((a, b) => a.node.localeCompare(b.node) || a.file.localeCompare(b.file));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, posix.basename(LOGS_MANIFEST)), `${JSON.stringify({ logs: sorted, problems: manifest.problems }, null, 2)}\n`);
}
