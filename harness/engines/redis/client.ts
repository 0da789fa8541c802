// The Redis workload: the client loop (workload/loop.ts) over ioredis, one connection per client.
// Even keys are written with SET to a key of their own; odd keys are appended with RPUSH to one
// list, whose order the final read checks; reads GET an acknowledged key. What is Redis's own: the
// commands, WAIT and WAITAOF after each write (what they returned recorded on the write), and which
// errors mean the command was not applied (classify.ts).
//
// ioredis reconnects, queues and resends on its own by default, which would hide exactly what the
// harness must see; here it never does: no retry strategy, no offline queue, no resend. A dropped
// connection fails the commands in flight (indeterminate) and the next operation reconnects, to
// whatever target() names then.

import { Redis } from 'ioredis';
import type { HistoryWriter } from '../../history/writer.ts';
import type { OpEvent } from '../../history/events.ts';
import { classifyRedisError, describeRedisError, isReplyError } from './classify.ts';
import { ClientLoop, type Classified, type Invoked, type OpenContext, type Operation, type WorkloadClient } from '../../workload/loop.ts';
import type { WorkloadOptions } from '../../workload/types.ts';

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
  /** With Sentinel: clients ask these where the primary is, as applications do (ioredis's Sentinel support). */
  sentinel?: {
    name: string;
    sentinels: Array<{ host: string; port: number }>;
    /** Where the machine running faultline reaches each server Sentinel names by address. */
    natMap: Record<string, { host: string; port: number }>;
    /** The node at an address the machine running faultline connected to. */
    nodeAt(host: string, port: number): string | undefined;
  };
}

/** WAIT's and WAITAOF's default timeout when none is given (0 would block forever). */
const DEFAULT_WAIT_TIMEOUT_MS = 1000;

type Confirmed = NonNullable<OpEvent['confirmed']>;

class RedisClient implements WorkloadClient<RedisWorkloadTarget, Redis> {
  private readonly wait: WorkloadOptions['wait'];
  private readonly waitAof: WorkloadOptions['waitAof'];

  constructor({ wait, waitAof }: WorkloadOptions) {
    this.wait = wait;
    this.waitAof = waitAof;
  }

  writes(key: number): 'write' | 'append' {
    return key % 2 === 0 ? 'write' : 'append';
  }

  private readonly nodeAt = new WeakMap<Redis, (host: string, port: number) => string | undefined>();

  nodeOf(client: Redis): string | undefined {
    const stream = (client as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
    return stream?.remoteAddress && stream.remotePort ? this.nodeAt.get(client)?.(stream.remoteAddress.replace(/^::ffff:/, ''), stream.remotePort) : undefined;
  }

  async open(target: RedisWorkloadTarget, { process, connectTimeoutMs, operationTimeoutMs, dropped }: OpenContext): Promise<Redis> {
    const where = target.sentinel
      ? { sentinels: target.sentinel.sentinels, name: target.sentinel.name, natMap: target.sentinel.natMap, sentinelRetryStrategy: () => null, sentinelCommandTimeout: connectTimeoutMs }
      : { host: target.host, port: target.port };
    const client = new Redis({
      ...where,
      lazyConnect: true,
      connectTimeout: connectTimeoutMs,
      commandTimeout: operationTimeoutMs,
      // Never reconnect, queue or resend behind the harness's back.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      reconnectOnError: null,
      enableReadyCheck: false,
      connectionName: `faultline-p${process}`,
    });
    // Errors arrive with the commands they failed; an idle connection that closes is dropped.
    client.on('error', () => {});
    client.on('close', dropped);
    // connectTimeout covers the TCP connect only; the handshake (HELLO, CLIENT SETNAME) falls under
    // the same limit here, so a server that accepts connections but never answers fails the connect.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ready connection after ${connectTimeoutMs} ms`)), connectTimeoutMs);
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
    if (target.sentinel) this.nodeAt.set(client, target.sentinel.nodeAt);
    return client;
  }

  async invoke(client: Redis, op: Operation): Promise<Invoked> {
    if (op.f === 'read') return { value: (await client.get(redisKey(op.key))) ?? null };
    if (op.f === 'write') await client.set(redisKey(op.key), op.value!);
    else await client.rpush(REDIS_LOG_KEY, redisLogEntry(op.key, op.value!));
    // Redis applied it and said so: acknowledged, whatever WAIT and WAITAOF say next.
    return this.wait || this.waitAof ? this.confirm(client) : {};
  }

  close(client: Redis): void {
    client.disconnect();
  }

  classify(error: unknown, { phase }: { phase: 'open' | 'invoke' }): Classified {
    return { outcome: classifyRedisError(error, phase === 'open' ? 'connect' : 'command'), error: describeRedisError(error) };
  }

  /**
   * After an acknowledged write: WAIT and/or WAITAOF, as asked, and what they returned. When one of
   * them errors the write stays acknowledged, unconfirmed, with the error as its warning; if the
   * connection may be gone (anything but an error reply) the client retires.
   */
  private async confirm(client: Redis): Promise<Invoked> {
    const { wait, waitAof } = this;
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
      return { confirmed };
    } catch (error) {
      confirmed.met = false;
      return { confirmed, warning: `${step}: ${describeRedisError(error)}`, retire: !isReplyError(error) };
    }
  }
}

/** N concurrent clients writing unique keys through ioredis (see workload/loop.ts for the loop). */
export class RedisWorkload extends ClientLoop<RedisWorkloadTarget, Redis> {
  constructor(history: HistoryWriter, target: () => RedisWorkloadTarget, options: WorkloadOptions = {}) {
    super(history, target, new RedisClient(options), options);
  }
}
