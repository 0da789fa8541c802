// The Redis workload: N concurrent clients, each on its own ioredis connection, writing unique keys
// at full speed or a target rate, with optional reads. Even keys are written with SET to a key of
// their own; odd keys are appended with RPUSH to one list, whose order the final read checks. Every
// operation is recorded in the history when invoked and when it completes. A client whose operation
// ended indeterminate retires: its connection is dropped and a new process id takes over, as in
// Jepsen (and as the PostgreSQL workload does).
//
// ioredis reconnects, queues and resends on its own by default, which would hide exactly what the
// harness must see; here it never does: no retry strategy, no offline queue, no resend. A dropped
// connection fails the commands in flight (indeterminate) and the next operation reconnects, to
// whatever target() names then.

import { Redis } from 'ioredis';
import type { HistoryWriter } from '../../history/writer.ts';
import type { OpEvent, OpFunction, OpType } from '../../history/events.ts';
import { seededRandom, type Random } from '../../random.ts';
import { sleep } from '../../wait.ts';
import { classifyRedisError, describeRedisError, isReplyError } from './classify.ts';
import type { Workload, WorkloadOptions, WorkloadStats } from '../../workload/types.ts';

export const REDIS_KEY_PREFIX = 'fl:k:';
export const REDIS_LOG_KEY = 'fl:log';

/** The Redis key a `write` of this key sets. */
export function redisKey(key: number): string {
  return `${REDIS_KEY_PREFIX}${key}`;
}

/** What an `append` of this key pushes onto REDIS_LOG_KEY: `<key>:<value>`. */
export function redisLogEntry(key: number, value: string): string {
  return `${key}:${value}`;
}

/** Where clients should connect now: asked again at every (re)connect, so clients follow a failover. */
export interface RedisWorkloadTarget {
  node: string;
  host: string;
  port: number;
}

/** WAIT's and WAITAOF's default timeout when none is given (0 would block forever). */
const DEFAULT_WAIT_TIMEOUT_MS = 1000;

type Confirmed = NonNullable<OpEvent['confirmed']>;

interface Slot {
  process: number;
  client: Redis | null;
  node: string;
}

export class RedisWorkload implements Workload {
  private readonly history: HistoryWriter;
  private readonly target: () => RedisWorkloadTarget;
  private readonly options: Required<Omit<WorkloadOptions, 'rate' | 'wait' | 'waitAof'>> & Pick<WorkloadOptions, 'rate' | 'wait' | 'waitAof'>;
  private readonly random: Random;
  private nextKey = 1;
  private nextProcess = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];
  /** Keys whose SET was acknowledged: what reads read back. */
  private readonly acked: number[] = [];
  private readonly stats: WorkloadStats = { invoked: 0, ok: 0, fail: 0, info: 0, durationMs: 0 };
  private startedAt = 0;

  constructor(history: HistoryWriter, target: () => RedisWorkloadTarget, options: WorkloadOptions = {}) {
    this.history = history;
    this.target = target;
    this.options = {
      clients: options.clients ?? 4,
      rate: options.rate,
      readRatio: options.readRatio ?? 0,
      operationTimeoutMs: options.operationTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 2_000,
      seed: options.seed ?? 1,
      wait: options.wait,
      waitAof: options.waitAof,
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
    const slot: Slot = { process: this.nextProcess++, client: null, node: '' };
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
      const backoff = read ? await this.read(slot) : await this.write(slot);
      if (backoff) await sleep(100);
    }
    this.retire(slot, false);
  }

  /** One SET (even key) or RPUSH (odd key); returns true when the client should back off (no connection). */
  private async write(slot: Slot): Promise<boolean> {
    const key = this.nextKey++;
    const f: OpFunction = key % 2 === 0 ? 'write' : 'append';
    const value = `v${key}.p${slot.process}`;
    const target = slot.client ? null : this.target();
    const node = slot.client ? slot.node : target!.node;
    this.record('invoke', slot, f, key, value, node);
    if (!slot.client) {
      try {
        await this.connect(slot, target!);
      } catch (error) {
        this.record('fail', slot, f, key, value, node, `connect: ${describeRedisError(error)}`);
        return true;
      }
    }
    const client = slot.client!;
    try {
      if (f === 'write') await client.set(redisKey(key), value);
      else await client.rpush(REDIS_LOG_KEY, redisLogEntry(key, value));
    } catch (error) {
      const outcome = classifyRedisError(error, 'command');
      this.record(outcome, slot, f, key, value, node, describeRedisError(error));
      if (outcome === 'info' || slot.client !== client) this.retire(slot, true);
      return false;
    }
    // Redis applied it and said so: acknowledged, whatever WAIT and WAITAOF say next.
    const { confirmed, warning, retire } = await this.confirm(client);
    this.record('ok', slot, f, key, value, node, undefined, warning, confirmed);
    if (f === 'write') this.acked.push(key);
    if (retire) this.retire(slot, true);
    return false;
  }

  /**
   * After an acknowledged write: WAIT and/or WAITAOF, as asked, and what they returned. When one of
   * them errors the write stays acknowledged, unconfirmed, with the error as its warning; if the
   * connection may be gone (anything but an error reply) the client retires.
   */
  private async confirm(client: Redis): Promise<{ confirmed?: Confirmed; warning?: string; retire: boolean }> {
    const { wait, waitAof } = this.options;
    if (!wait && !waitAof) return { retire: false };
    const confirmed: Confirmed = { met: true };
    let step = '';
    try {
      if (wait) {
        step = 'WAIT';
        const replicas = Number(await client.call('WAIT', wait.replicas, wait.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS));
        confirmed.replicas = replicas;
        confirmed.met &&= replicas >= wait.replicas;
      }
      if (waitAof) {
        step = 'WAITAOF';
        const reply = (await client.call('WAITAOF', waitAof.local, waitAof.replicas, waitAof.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS)) as unknown[];
        const aof: [number, number] = [Number(reply?.[0] ?? 0), Number(reply?.[1] ?? 0)];
        confirmed.aof = aof;
        confirmed.met &&= aof[0] >= waitAof.local && aof[1] >= waitAof.replicas;
      }
      return { confirmed, retire: false };
    } catch (error) {
      confirmed.met = false;
      return { confirmed, warning: `${step}: ${describeRedisError(error)}`, retire: !isReplyError(error) };
    }
  }

  private async read(slot: Slot): Promise<boolean> {
    const key = this.acked[Math.floor(this.random() * this.acked.length)]!;
    const target = slot.client ? null : this.target();
    const node = slot.client ? slot.node : target!.node;
    this.record('invoke', slot, 'read', key, null, node);
    try {
      if (!slot.client) await this.connect(slot, target!);
      const value = await slot.client!.get(redisKey(key));
      this.record('ok', slot, 'read', key, value ?? null, node);
      return false;
    } catch (error) {
      // A read changes nothing: it failed, whatever happened to the connection.
      this.record('fail', slot, 'read', key, null, node, describeRedisError(error));
      this.retire(slot, false);
      return true;
    }
  }

  private async connect(slot: Slot, target: RedisWorkloadTarget): Promise<void> {
    const client = new Redis({
      host: target.host,
      port: target.port,
      lazyConnect: true,
      connectTimeout: this.options.connectTimeoutMs,
      commandTimeout: this.options.operationTimeoutMs,
      // Never reconnect, queue or resend behind the harness's back.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      reconnectOnError: null,
      enableReadyCheck: false,
      connectionName: `faultline-p${slot.process}`,
    });
    // A connection dropped while idle must not crash the process; the next operation reconnects.
    client.on('error', () => {});
    client.on('close', () => {
      if (slot.client === client) slot.client = null;
    });
    // connectTimeout covers the TCP connect only; the handshake (HELLO, CLIENT SETNAME) falls under
    // the same limit here, so a server that accepts connections but never answers fails the connect.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ready connection after ${this.options.connectTimeoutMs} ms`)), this.options.connectTimeoutMs);
    });
    const connecting = client.connect();
    connecting.catch(() => {}); // when the deadline wins, its rejection comes later and is not news
    try {
      await Promise.race([connecting, deadline]);
    } catch (error) {
      client.disconnect();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    slot.client = client;
    slot.node = target.node;
  }

  /** Drops the connection; after an indeterminate result the process id changes too. */
  private retire(slot: Slot, newProcess: boolean): void {
    const client = slot.client;
    slot.client = null;
    if (client) client.disconnect();
    if (newProcess) slot.process = this.nextProcess++;
  }

  private record(type: OpType, slot: Slot, f: OpFunction, key: number, value: string | null, node: string, error?: string, warning?: string, confirmed?: Confirmed): void {
    // Completions go out with the next event (see HistoryWriter.appendSoon): one write per operation.
    const event = {
      type,
      process: slot.process,
      f,
      key,
      value,
      node,
      ...(error ? { error } : {}),
      ...(warning ? { warning } : {}),
      ...(confirmed ? { confirmed } : {}),
    };
    if (type === 'invoke') this.history.append(event);
    else this.history.appendSoon(event);
    if (type === 'invoke') this.stats.invoked++;
    else this.stats[type]++;
  }
}
