import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { Redis } from 'ioredis';
import { redisImage } from '../../harness/engines/redis/index.ts';
import { getEngine } from '../../harness/cluster/docker/engine.ts';
import { removeRunResources } from '../../harness/cluster/docker/docker-run.ts';
import { newRunId, runLabels } from '../../harness/cluster/docker/labels.ts';
import { HistoryWriter } from '../../harness/history/writer.ts';
import { isOp, type HistoryEvent, type OpEvent } from '../../harness/history/events.ts';
import { REDIS_LOG_KEY, RedisWorkload, redisKey } from '../../harness/engines/redis/client.ts';
import { containerEndpoint } from '../../harness/engines/redis/redis-node.ts';
import type { WorkloadOptions, WorkloadStats } from '../../harness/workload/types.ts';
import { nothingLeft, out, waitForNoLeftovers } from '../helpers.ts';

const NODE = 'redis-1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the Redis workload against a real Redis', () => {
  const runId = newRunId();
  const scratch = out('faultline-redis-workload-');
  let container: StartedTestContainer | undefined;
  let containerStopped = false;
  let admin: Redis;
  let host: string;
  let port: number;
  let runs = 0;

  beforeAll(async () => {
    const image = await redisImage('redis', 7); // Redis 7.0: no WAITAOF
    container = await new GenericContainer(image)
      .withLabels(runLabels(runId))
      .withEntrypoint(['redis-server'])
      .withCommand(['--port', '6379', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'])
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
      .start();
    // The address a cluster's Redis node gives (on a local engine, the container's own, not docker-proxy's).
    ({ host, port } = containerEndpoint(container, 6379));
    admin = new Redis({ host, port, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    admin.on('error', () => {});
  });

  afterAll(async () => {
    admin?.disconnect();
    if (container && !containerStopped) await container.stop().catch(() => {});
    await removeRunResources(await getEngine(), runId);
    rmSync(scratch, { recursive: true, force: true });
    expect(await waitForNoLeftovers(runId)).toEqual(nothingLeft);
  });

  /** Runs a workload for `ms` (doing `during` meanwhile) and returns its stats and the history it wrote. */
  async function run(options: WorkloadOptions, ms: number, during?: (history: HistoryWriter) => Promise<void>) {
    const history = new HistoryWriter(join(scratch, `history-${++runs}.jsonl`));
    const workload = new RedisWorkload(history, () => ({ node: NODE, host, port }), options);
    workload.start();
    const started = performance.now();
    await during?.(history);
    await sleep(ms - (performance.now() - started));
    const stopping = performance.now();
    const stats = await workload.stop();
    const stopMs = performance.now() - stopping;
    history.close();
    const events = readFileSync(history.path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as HistoryEvent);
    return { stats, events, ops: events.filter(isOp), stopMs };
  }

  /** Every invocation has exactly one completion from the same process, and the stats count them. */
  function expectWellFormed(ops: OpEvent[], stats: WorkloadStats) {
    const open = new Map<number, OpEvent>();
    for (const op of ops) {
      if (op.type === 'invoke') {
        expect(open.has(op.process), `process ${op.process} invoked twice`).toBe(false);
        open.set(op.process, op);
      } else {
        const invoke = open.get(op.process);
        expect(invoke, `completion without invocation: ${JSON.stringify(op)}`).toBeDefined();
        expect({ f: op.f, key: op.key }).toEqual({ f: invoke!.f, key: invoke!.key });
        open.delete(op.process);
      }
    }
    expect(open.size).toBe(0);
    const count = (type: OpEvent['type']) => ops.filter((op) => op.type === type).length;
    expect(stats).toMatchObject({ invoked: count('invoke'), ok: count('ok'), fail: count('fail'), info: count('info') });
  }

  /** Every acknowledged SET's key holds its value; every acknowledged RPUSH is in the list once, in each process's order. */
  async function expectAcknowledgedInRedis(ops: OpEvent[]) {
    const writes = ops.filter((op) => op.type === 'ok' && op.f === 'write');
    const values = writes.length ? await admin.mget(...writes.map((op) => redisKey(op.key))) : [];
    expect(values).toEqual(writes.map((op) => op.value));

    const list = await admin.lrange(REDIS_LOG_KEY, 0, -1);
    const position = new Map<string, number>();
    list.forEach((entry, i) => {
      expect(position.has(entry), `${entry} appended twice`).toBe(false);
      position.set(entry, i);
    });
    const appended = new Set(ops.filter((op) => op.type === 'invoke' && op.f === 'append').map((op) => `${op.key}:${op.value}`));
    for (const entry of list) expect(appended.has(entry), `${entry} in the list but never invoked`).toBe(true);
    const last = new Map<number, number>();
    for (const op of ops.filter((o) => o.type === 'ok' && o.f === 'append')) {
      const at = position.get(`${op.key}:${op.value}`);
      expect(at, `acknowledged append ${op.key} missing from ${REDIS_LOG_KEY}`).toBeDefined();
      expect(at!, `process ${op.process}: append ${op.key} out of order`).toBeGreaterThan(last.get(op.process) ?? -1);
      last.set(op.process, at!);
    }
    return { writes: writes.length, appends: last.size };
  }

  it('acknowledges SETs and RPUSHes that Redis then holds, in order, and reads back what was written', async () => {
    await admin.flushall();
    const { stats, ops } = await run({ clients: 4, readRatio: 0.2 }, 2000);
    expectWellFormed(ops, stats);
    expect(stats.ok).toBeGreaterThan(100);
    expect(stats.fail + stats.info).toBe(0);
    const ok = ops.filter((op) => op.type === 'ok');
    expect(ok.filter((op) => op.f === 'write').every((op) => op.key % 2 === 0)).toBe(true);
    expect(ok.filter((op) => op.f === 'append').every((op) => op.key % 2 === 1)).toBe(true);
    expect(ok.some((op) => op.f === 'append')).toBe(true);
    expect(ok.every((op) => op.node === NODE && op.confirmed === undefined)).toBe(true);
    const written = new Map(ok.filter((op) => op.f === 'write').map((op) => [op.key, op.value]));
    const reads = ok.filter((op) => op.f === 'read');
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) expect(read.value).toBe(written.get(read.key));
    const held = await expectAcknowledgedInRedis(ops);
    expect(held.writes).toBeGreaterThan(0);
  });

  it('records what WAIT returned on each acknowledged write: no replica, so unconfirmed', async () => {
    await admin.flushall();
    const { stats, ops } = await run({ clients: 2, wait: { replicas: 1, timeoutMs: 100 } }, 800);
    expectWellFormed(ops, stats);
    const ok = ops.filter((op) => op.type === 'ok');
    expect(ok.length).toBeGreaterThan(3);
    for (const op of ok) expect(op.confirmed).toEqual({ replicas: 0, met: false });
    // WAIT 1 100 waits its whole timeout for the missing replica.
    expect(ok.length).toBeLessThan(2 * 9);
    await expectAcknowledgedInRedis(ops);
  });

  it('keeps a write acknowledged but unconfirmed when WAITAOF is refused (Redis 7.0 has none), on the same connection', async () => {
    await admin.flushall();
    const { stats, ops } = await run({ clients: 1, wait: { replicas: 0, timeoutMs: 100 }, waitAof: { local: 1, replicas: 0, timeoutMs: 100 } }, 300);
    expectWellFormed(ops, stats);
    const ok = ops.filter((op) => op.type === 'ok');
    expect(ok.length).toBeGreaterThan(3);
    for (const op of ok) {
      expect(op.confirmed).toEqual({ replicas: 0, met: false });
      expect(op.warning).toMatch(/^WAITAOF: ERR unknown command 'WAITAOF'/);
    }
    // An error reply says nothing about the connection: the client carries on as the same process.
    expect(new Set(ops.map((op) => op.process))).toEqual(new Set([0]));
    await expectAcknowledgedInRedis(ops);
  });

  it('records commands in flight when their connections are killed as indeterminate, and the clients carry on as new processes', async () => {
    await admin.flushall();
    const { stats, ops, events } = await run({ clients: 4 }, 2500, async (history) => {
      await sleep(500);
      for (let i = 0; i < 3; i++) {
        // Writes held by the pause are in flight for certain when their connections go.
        await admin.call('CLIENT', 'PAUSE', '2000', 'WRITE');
        await sleep(100);
        history.append({ type: 'fault', phase: 'start', name: 'client-kill', target: NODE });
        await admin.call('CLIENT', 'KILL', 'TYPE', 'normal');
        history.append({ type: 'fault', phase: 'end', name: 'client-kill', target: NODE });
        await admin.call('CLIENT', 'UNPAUSE');
        await sleep(300);
      }
    });
    expectWellFormed(ops, stats);
    expect(stats.info).toBeGreaterThanOrEqual(3);
    // Each op cut off by a kill: invoked before it, completed after it, never acknowledged.
    const kills = events.flatMap((event, i) => (event.type === 'fault' && event.phase === 'start' ? [i] : []));
    expect(kills).toHaveLength(3);
    for (const kill of kills) {
      const invokedBefore = new Map<number, OpEvent>();
      for (const op of events.slice(0, kill).filter(isOp)) {
        if (op.type === 'invoke') invokedBefore.set(op.process, op);
        else invokedBefore.delete(op.process);
      }
      expect(invokedBefore.size, 'writes held by the pause').toBeGreaterThan(0);
      const after = events.slice(kill).filter(isOp);
      for (const [process, invoke] of invokedBefore) {
        const completion = after.find((op) => op.process === process && op.type !== 'invoke')!;
        expect(completion.key).toBe(invoke.key);
        expect(['info', 'fail']).toContain(completion.type);
        expect(completion.error).toMatch(/Connection is closed|ECONNRESET|EPIPE/);
      }
    }
    // Indeterminate means the process retired: it never invokes again.
    ops.forEach((op, i) => {
      if (op.type === 'info') expect(ops.slice(i).filter((later) => later.process === op.process && later.type === 'invoke')).toEqual([]);
    });
    // And the clients kept writing after the last kill, on new connections.
    const lastKill = kills.at(-1)!;
    expect(events.slice(lastKill).filter((event) => isOp(event) && event.type === 'ok').length).toBeGreaterThan(10);
    await expectAcknowledgedInRedis(ops);
  });

  it('keeps a write acknowledged when its connection dies during WAIT, unconfirmed, and the client retires', async () => {
    await admin.flushall();
    const { stats, ops } = await run({ clients: 2, wait: { replicas: 1, timeoutMs: 1000 } }, 600, async () => {
      await sleep(300); // both clients are in their first WAIT
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal');
    });
    expectWellFormed(ops, stats);
    const cut = ops.filter((op) => op.type === 'ok' && op.warning);
    expect(cut).toHaveLength(2);
    for (const op of cut) {
      expect(op.confirmed).toEqual({ met: false });
      expect(op.warning).toBe('WAIT: Connection is closed.');
      expect(ops.filter((later) => later.process === op.process && later.type === 'invoke')).toHaveLength(1);
    }
    expect(stats.info + stats.fail).toBe(0);
    await expectAcknowledgedInRedis(ops);
  });

  it('acknowledges nothing once the server is gone, and stops cleanly', async () => {
    await admin.flushall();
    admin.disconnect();
    const { stats, ops, events, stopMs } = await run({ clients: 4, connectTimeoutMs: 500 }, 2500, async (history) => {
      await sleep(500);
      history.append({ type: 'fault', phase: 'start', name: 'stop-container', target: NODE });
      await container!.stop({ timeout: 1000 });
      containerStopped = true;
      history.append({ type: 'fault', phase: 'end', name: 'stop-container', target: NODE });
    });
    expectWellFormed(ops, stats);
    const start = events.findIndex((event) => event.type === 'fault' && event.phase === 'start');
    const end = events.findIndex((event) => event.type === 'fault' && event.phase === 'end');
    expect(events.slice(0, start).filter((event) => isOp(event) && event.type === 'ok').length).toBeGreaterThan(10);
    const afterStop = events.slice(end).filter(isOp);
    // Once the server is down: no acknowledgement, only refused connections (fail) with back-off.
    expect(afterStop.filter((op) => op.type === 'ok')).toEqual([]);
    const refused = afterStop.filter((op) => op.type === 'fail');
    expect(refused.length).toBeGreaterThan(0);
    for (const op of refused) expect(op.error).toMatch(/^connect: /);
    // 4 clients backing off 100 ms after each refused connect for ~1.5 s: tens of attempts, not thousands.
    expect(refused.length).toBeLessThan(200);
    expect(stopMs).toBeLessThan(2000);
  });
});
