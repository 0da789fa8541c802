// The client loop every engine's workload runs, in the style of Jepsen's client protocol: N
// concurrent clients writing unique keys at full speed or a target rate, with optional reads of
// acknowledged keys. An engine supplies only how to open a connection, invoke one operation on it,
// close it, and classify what an operation threw; the loop does the rest, the same for every engine:
// - every operation is recorded in the history when invoked and when it completes (ok: acknowledged;
//   fail: definitely not applied; info: indeterminate);
// - the connection is opened at the first operation and again after it was lost or dropped, to
//   whatever target() names then, so clients follow the primary when it changes;
// - a client whose operation ended indeterminate retires: its connection is closed and a new
//   process id takes over, as in Jepsen; so does one whose connection went while its operation was
//   in flight, or whose engine asks it to (a connection that may be gone after an acknowledgement);
// - a read changes nothing: whatever went wrong, it failed, and the client drops its connection;
// - after an operation that could not reach the server (no connection, or a failed read) the client
//   backs off 100 ms instead of spinning.

import type { HistoryWriter } from '../history/writer.ts';
import type { OpEvent, OpFunction, OpType } from '../history/events.ts';
import { seededRandom, type Random } from '../random.ts';
import { sleep } from '../wait.ts';
import type { Workload, WorkloadOptions, WorkloadStats } from './types.ts';

/** How an operation that threw ended: definitely not applied (`fail`) or perhaps applied (`info`). */
export type Completion = 'fail' | 'info';

/** One operation as the loop hands it to the engine. */
export interface Operation {
  /** The client process performing it. */
  readonly process: number;
  readonly f: OpFunction;
  readonly key: number;
  /** The value to write (`v<key>.p<process>`); null for a read. */
  readonly value: string | null;
}

/** What a completed operation returned. */
export interface Invoked {
  /** A read's value (null when the key is absent). Ignored for writes: their value is the one written. */
  value?: string | null;
  /** A warning that came with the acknowledgement; recorded on the `ok`. */
  warning?: string;
  /** What a confirmation after the write returned (Redis's WAIT, WAITAOF); recorded on the `ok`. */
  confirmed?: OpEvent['confirmed'];
  /** The connection may be unusable although the operation was acknowledged: retire the client. */
  retire?: boolean;
}

/** What the engine makes of an error an operation (or opening its connection) threw. */
export interface Classified {
  outcome: Completion;
  /** The error as a person reads it, for the history. */
  error: string;
}

/** What open() is told about the client it opens a connection for. */
export interface OpenContext {
  process: number;
  connectTimeoutMs: number;
  operationTimeoutMs: number;
  /** Call when the connection drops on its own: the next operation opens a new one. */
  dropped(): void;
}

/** What an engine supplies; `Target` says where to connect now, `Connection` is one client's connection. */
export interface WorkloadClient<Target extends { node: string }, Connection> {
  /** Opens a connection for a client process; rejects (and cleans up) when none could be made. */
  open(target: Target, context: OpenContext): Promise<Connection>;
  /** Performs one operation; resolves when it was acknowledged, throws otherwise. */
  invoke(connection: Connection, op: Operation): Promise<Invoked>;
  /** Drops a connection without waiting. */
  close(connection: Connection): void;
  /**
   * An error thrown by open (`phase: 'open'`: nothing was sent) or by invoke. For reads only the
   * description counts: a read that threw failed.
   */
  classify(error: unknown, context: { phase: 'open' | 'invoke'; op: Operation; connection?: Connection }): Classified;
  /** The node a connection reached, when it may not be the target's (a client that asks an HA manager where the primary is). */
  nodeOf?(connection: Connection): string | undefined;
  /** What a write of this key is; default `write`. (Redis appends odd keys to one list.) */
  writes?(key: number): 'write' | 'append';
}

interface Slot<Connection> {
  process: number;
  connection: Connection | null;
  node: string;
}

type Resolved = Required<Pick<WorkloadOptions, 'clients' | 'readRatio' | 'operationTimeoutMs' | 'connectTimeoutMs' | 'seed'>> & Pick<WorkloadOptions, 'rate'>;

/** The clients of a workload; an engine's workload is this loop over its WorkloadClient. */
export class ClientLoop<Target extends { node: string }, Connection> implements Workload {
  private readonly history: HistoryWriter;
  private readonly target: () => Target;
  private readonly client: WorkloadClient<Target, Connection>;
  private readonly options: Resolved;
  private readonly random: Random;
  private nextKey = 1;
  private nextProcess = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];
  /** Keys whose write (not append) was acknowledged: what reads read back. */
  private readonly acked: number[] = [];
  private readonly stats: WorkloadStats = { invoked: 0, ok: 0, fail: 0, info: 0, durationMs: 0 };
  private startedAt = 0;

  /** `target` is asked again at every (re)connect, so clients follow a failover. */
  constructor(history: HistoryWriter, target: () => Target, client: WorkloadClient<Target, Connection>, options: WorkloadOptions = {}) {
    this.history = history;
    this.target = target;
    this.client = client;
    this.options = {
      clients: options.clients ?? 4,
      rate: options.rate,
      readRatio: options.readRatio ?? 0,
      operationTimeoutMs: options.operationTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 2_000,
      seed: options.seed ?? 1,
    };
    this.random = seededRandom(this.options.seed);
  }

  start(): void {
    this.startedAt = performance.now();
    this.loops = Array.from({ length: this.options.clients }, (_, i) => this.clientLoop(i));
  }

  /** Stops invoking new operations, waits for those in flight, closes connections. */
  async stop(): Promise<WorkloadStats> {
    this.stopping = true;
    await Promise.all(this.loops);
    this.stats.durationMs = Math.round(performance.now() - this.startedAt);
    return { ...this.stats };
  }

  private async clientLoop(index: number): Promise<void> {
    const slot: Slot<Connection> = { process: this.nextProcess++, connection: null, node: '' };
    const interval = this.options.rate ? (1000 * this.options.clients) / this.options.rate : 0;
    let next = performance.now() + (interval * index) / this.options.clients;
    while (!this.stopping) {
      if (interval > 0) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next += interval;
        if (this.stopping) break;
      }
      const read = this.options.readRatio > 0 && this.acked.length > 0 && this.random() < this.options.readRatio;
      const backoff = await this.operate(slot, read ? this.readOf(slot) : this.writeOf(slot));
      if (backoff) await sleep(100);
    }
    this.retire(slot, false);
  }

  private writeOf(slot: Slot<Connection>): Operation {
    const key = this.nextKey++;
    return { process: slot.process, f: this.client.writes?.(key) ?? 'write', key, value: `v${key}.p${slot.process}` };
  }

  private readOf(slot: Slot<Connection>): Operation {
    const key = this.acked[Math.floor(this.random() * this.acked.length)]!;
    return { process: slot.process, f: 'read', key, value: null };
  }

  /** One operation, invoked and completed in the history; returns true when the client should back off. */
  private async operate(slot: Slot<Connection>, op: Operation): Promise<boolean> {
    const read = op.f === 'read';
    const target = slot.connection ? null : this.target();
    let node = slot.connection ? slot.node : target!.node;
    this.record('invoke', op, node, op.value);
    if (!slot.connection) {
      try {
        await this.open(slot, target!);
      } catch (error) {
        const { outcome, error: described } = this.client.classify(error, { phase: 'open', op });
        if (read) this.record('fail', op, node, null, described);
        else {
          this.record(outcome, op, node, op.value, `connect: ${described}`);
          if (outcome === 'info') this.retire(slot, true);
        }
        return true;
      }
      node = slot.node;
    }
    const connection = slot.connection!;
    let result: Invoked;
    try {
      result = await this.client.invoke(connection, op);
    } catch (error) {
      const { outcome, error: described } = this.client.classify(error, { phase: 'invoke', op, connection });
      if (read) {
        // A read changes nothing: it failed, whatever happened to the connection.
        this.record('fail', op, node, null, described);
        this.retire(slot, false);
        return true;
      }
      this.record(outcome, op, node, op.value, described);
      // Indeterminate, or the connection went while the operation was in flight: a new process.
      if (outcome === 'info' || slot.connection !== connection) this.retire(slot, true);
      return false;
    }
    this.record('ok', op, node, read ? (result.value ?? null) : op.value, undefined, result.warning, result.confirmed);
    if (op.f === 'write') this.acked.push(op.key);
    if (result.retire) this.retire(slot, true);
    return false;
  }

  private async open(slot: Slot<Connection>, target: Target): Promise<void> {
    let opened: Connection | undefined;
    const connection = await this.client.open(target, {
      process: slot.process,
      connectTimeoutMs: this.options.connectTimeoutMs,
      operationTimeoutMs: this.options.operationTimeoutMs,
      // A connection dropped while idle must not crash the process; the next operation reconnects.
      dropped: () => {
        if (opened !== undefined && slot.connection === opened) slot.connection = null;
      },
    });
    opened = connection;
    slot.connection = connection;
    slot.node = this.client.nodeOf?.(connection) ?? target.node;
  }

  /** Drops the connection; after an indeterminate result the process id changes too. */
  private retire(slot: Slot<Connection>, newProcess: boolean): void {
    const connection = slot.connection;
    slot.connection = null;
    if (connection) this.client.close(connection);
    if (newProcess) slot.process = this.nextProcess++;
  }

  private record(type: OpType, op: Operation, node: string, value: string | null, error?: string, warning?: string, confirmed?: OpEvent['confirmed']): void {
    const event = {
      type,
      process: op.process,
      f: op.f,
      key: op.key,
      value,
      node,
      ...(error ? { error } : {}),
      ...(warning ? { warning } : {}),
      ...(confirmed ? { confirmed } : {}),
    };
    // Completions go out with the next event (see HistoryWriter.appendSoon): one write per operation.
    if (type === 'invoke') {
      this.history.append(event);
      this.stats.invoked++;
    } else {
      this.history.appendSoon(event);
      this.stats[type]++;
    }
  }
}
