// The client loop (harness/workload/loop.ts) with a scripted fake engine client: what it records,
// when a client retires and takes a new process id, and how it stops. The real engines' clients are
// exercised against real servers in test/integration (redis-workload, ledger).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HistoryWriter, readHistory } from '../../harness/history/index.ts';
import { isOp, type OpEvent } from '../../harness/history/events.ts';
import { ClientLoop, type Classified, type Invoked, type OpenContext, type Operation, type WorkloadClient } from '../../harness/workload/index.ts';
import type { WorkloadOptions, WorkloadStats } from '../../harness/workload/index.ts';

interface Target {
  node: string;
}

interface FakeConnection {
  id: number;
  node: string;
  process: number;
  closed: boolean;
  dropped: () => void;
}

class Failure extends Error {
  readonly outcome: 'fail' | 'info';
  constructor(outcome: 'fail' | 'info', message: string) {
    super(message);
    this.outcome = outcome;
  }
}

/** What the fake does for a key: resolve (optionally with extras), throw, or drop the connection first. */
type Script = (op: Operation, connection: FakeConnection) => Invoked | Error | 'drop-then-fail';

class FakeClient implements WorkloadClient<Target, FakeConnection> {
  readonly connections: FakeConnection[] = [];
  readonly opens: Array<{ node: string; process: number }> = [];
  readonly store = new Map<number, string>();
  refuseOpens = 0;
  onInvoke: (op: Operation) => void = () => {};
  writes?: (key: number) => 'write' | 'append';
  private readonly script: Script;

  constructor(script: Script = () => ({})) {
    this.script = script;
  }

  async open(target: Target, context: OpenContext): Promise<FakeConnection> {
    await new Promise((resolve) => setImmediate(resolve));
    this.opens.push({ node: target.node, process: context.process });
    if (this.refuseOpens > 0) {
      this.refuseOpens--;
      throw new Error('connection refused');
    }
    const connection = { id: this.connections.length, node: target.node, process: context.process, closed: false, dropped: context.dropped };
    this.connections.push(connection);
    return connection;
  }

  async invoke(connection: FakeConnection, op: Operation): Promise<Invoked> {
    // A real operation yields to the event loop; so must the fake, or stop() never runs.
    await new Promise((resolve) => setImmediate(resolve));
    this.onInvoke(op);
    if (connection.closed) throw new Failure('info', 'used after close');
    if (op.f === 'read') return { value: this.store.get(op.key) ?? null };
    const outcome = this.script(op, connection);
    if (outcome === 'drop-then-fail') {
      connection.dropped();
      throw new Failure('fail', 'refused, and the connection went');
    }
    if (outcome instanceof Error) throw outcome;
    this.store.set(op.key, op.value!);
    return outcome;
  }

  close(connection: FakeConnection): void {
    connection.closed = true;
  }

  classify(error: unknown, { phase }: { phase: 'open' | 'invoke' }): Classified {
    if (phase === 'open') return { outcome: 'fail', error: (error as Error).message };
    return { outcome: error instanceof Failure ? error.outcome : 'info', error: `fake: ${(error as Error).message}` };
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'faultline-loop-'));
let runs = 0;

/** Runs the loop until `until` says so (checked at every invoke), and returns what it recorded. */
async function run(client: FakeClient, until: (op: Operation) => boolean, options: WorkloadOptions = {}, target: () => Target = () => ({ node: 'n1' })) {
  const history = new HistoryWriter(join(scratch, `history-${++runs}.jsonl`));
  const loop = new ClientLoop(history, target, client, { clients: 1, ...options });
  let stopped: Promise<WorkloadStats> | undefined;
  let resolveStopped!: (value: WorkloadStats) => void;
  const done = new Promise<WorkloadStats>((resolve) => (resolveStopped = resolve));
  client.onInvoke = (op) => {
    if (!stopped && until(op)) {
      stopped = loop.stop();
      void stopped.then(resolveStopped);
    }
  };
  loop.start();
  const stats = await done;
  history.close();
  const { events } = readHistory(history.path);
  return { stats, ops: events.filter(isOp) };
}

/** Drops the times, which are all the loop does not decide. */
function untimed(ops: OpEvent[]) {
  return ops.map(({ time: _time, ...rest }) => rest);
}

describe('the client loop', () => {
  it('records each acknowledged write as invoke then ok, with the value v<key>.p<process>, on the node it connected to', async () => {
    const client = new FakeClient(() => ({}));
    const { stats, ops } = await run(client, (op) => op.key === 3);
    expect(untimed(ops)).toEqual([
      { type: 'invoke', process: 0, f: 'write', key: 1, value: 'v1.p0', node: 'n1' },
      { type: 'ok', process: 0, f: 'write', key: 1, value: 'v1.p0', node: 'n1' },
      { type: 'invoke', process: 0, f: 'write', key: 2, value: 'v2.p0', node: 'n1' },
      { type: 'ok', process: 0, f: 'write', key: 2, value: 'v2.p0', node: 'n1' },
      { type: 'invoke', process: 0, f: 'write', key: 3, value: 'v3.p0', node: 'n1' },
      { type: 'ok', process: 0, f: 'write', key: 3, value: 'v3.p0', node: 'n1' },
    ]);
    expect(stats).toMatchObject({ invoked: 3, ok: 3, fail: 0, info: 0 });
    // One connection for the whole run, closed at stop.
    expect(client.opens).toEqual([{ node: 'n1', process: 0 }]);
    expect(client.connections.map((c) => c.closed)).toEqual([true]);
  });

  it('puts the engine’s warning and confirmation on the ok, and appends where the engine says', async () => {
    const client = new FakeClient((op) => (op.key === 2 ? { warning: 'committed locally', confirmed: { replicas: 0, met: false } } : {}));
    client.writes = (key) => (key % 2 === 0 ? 'write' : 'append');
    const { ops } = await run(client, (op) => op.key === 2);
    expect(untimed(ops.filter((op) => op.type === 'ok'))).toEqual([
      { type: 'ok', process: 0, f: 'append', key: 1, value: 'v1.p0', node: 'n1' },
      { type: 'ok', process: 0, f: 'write', key: 2, value: 'v2.p0', node: 'n1', warning: 'committed locally', confirmed: { replicas: 0, met: false } },
    ]);
  });

  it('keeps the process and its connection after a fail', async () => {
    const client = new FakeClient((op) => (op.key === 2 ? new Failure('fail', 'READONLY') : {}));
    const { stats, ops } = await run(client, (op) => op.key === 3);
    expect(untimed(ops).slice(2, 4)).toEqual([
      { type: 'invoke', process: 0, f: 'write', key: 2, value: 'v2.p0', node: 'n1' },
      { type: 'fail', process: 0, f: 'write', key: 2, value: 'v2.p0', node: 'n1', error: 'fake: READONLY' },
    ]);
    expect(new Set(ops.map((op) => op.process))).toEqual(new Set([0]));
    expect(client.opens).toHaveLength(1);
    expect(stats).toMatchObject({ invoked: 3, ok: 2, fail: 1, info: 0 });
  });

  it('retires a client after info: its connection is closed and a new process id takes over on a new connection, to the current target', async () => {
    let node = 'n1';
    const client = new FakeClient((op) => {
      if (op.key === 2) {
        node = 'n2'; // a failover while the write was in flight
        return new Failure('info', 'Connection is closed.');
      }
      return {};
    });
    const { stats, ops } = await run(client, (op) => op.key === 3, {}, () => ({ node }));
    expect(untimed(ops).slice(2)).toEqual([
      { type: 'invoke', process: 0, f: 'write', key: 2, value: 'v2.p0', node: 'n1' },
      { type: 'info', process: 0, f: 'write', key: 2, value: 'v2.p0', node: 'n1', error: 'fake: Connection is closed.' },
      { type: 'invoke', process: 1, f: 'write', key: 3, value: 'v3.p1', node: 'n2' },
      { type: 'ok', process: 1, f: 'write', key: 3, value: 'v3.p1', node: 'n2' },
    ]);
    expect(client.opens).toEqual([
      { node: 'n1', process: 0 },
      { node: 'n2', process: 1 },
    ]);
    expect(client.connections.map((c) => c.closed)).toEqual([true, true]);
    expect(stats).toMatchObject({ invoked: 3, ok: 2, fail: 0, info: 1 });
  });

  it('retires a client whose connection went while its write was in flight, even when the write failed', async () => {
    const client = new FakeClient((op) => (op.key === 2 ? 'drop-then-fail' : {}));
    const { ops } = await run(client, (op) => op.key === 3);
    expect(ops.map((op) => [op.type, op.process, op.key])).toEqual([
      ['invoke', 0, 1],
      ['ok', 0, 1],
      ['invoke', 0, 2],
      ['fail', 0, 2],
      ['invoke', 1, 3],
      ['ok', 1, 3],
    ]);
    // A dropped connection is forgotten, not closed again.
    expect(client.connections.map((c) => c.closed)).toEqual([false, true]);
  });

  it('retires a client when the engine asks to after an acknowledged write', async () => {
    const client = new FakeClient((op) => (op.key === 1 ? { confirmed: { met: false }, warning: 'WAIT: Connection is closed.', retire: true } : {}));
    const { ops } = await run(client, (op) => op.key === 2);
    expect(untimed(ops)).toEqual([
      { type: 'invoke', process: 0, f: 'write', key: 1, value: 'v1.p0', node: 'n1' },
      { type: 'ok', process: 0, f: 'write', key: 1, value: 'v1.p0', node: 'n1', warning: 'WAIT: Connection is closed.', confirmed: { met: false } },
      { type: 'invoke', process: 1, f: 'write', key: 2, value: 'v2.p1', node: 'n1' },
      { type: 'ok', process: 1, f: 'write', key: 2, value: 'v2.p1', node: 'n1' },
    ]);
  });

  it('records a write that found no connection as fail, "connect: …", and backs off before the next, as the same process', async () => {
    const client = new FakeClient(() => ({}));
    client.refuseOpens = 2;
    const started = performance.now();
    const { stats, ops } = await run(client, (op) => op.key === 3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(untimed(ops)).toEqual([
      { type: 'invoke', process: 0, f: 'write', key: 1, value: 'v1.p0', node: 'n1' },
      { type: 'fail', process: 0, f: 'write', key: 1, value: 'v1.p0', node: 'n1', error: 'connect: connection refused' },
      { type: 'invoke', process: 0, f: 'write', key: 2, value: 'v2.p0', node: 'n1' },
      { type: 'fail', process: 0, f: 'write', key: 2, value: 'v2.p0', node: 'n1', error: 'connect: connection refused' },
      { type: 'invoke', process: 0, f: 'write', key: 3, value: 'v3.p0', node: 'n1' },
      { type: 'ok', process: 0, f: 'write', key: 3, value: 'v3.p0', node: 'n1' },
    ]);
    expect(stats).toMatchObject({ invoked: 3, ok: 1, fail: 2, info: 0 });
  });

  it('reads back acknowledged writes, and a failed read is fail: the connection is dropped, the process stays', async () => {
    let reads = 0;
    const client = new FakeClient(() => ({}));
    const invoke = client.invoke.bind(client);
    client.invoke = async (connection, op) => {
      if (op.f === 'read' && ++reads === 2) {
        await new Promise((resolve) => setImmediate(resolve));
        throw new Failure('info', 'Command timed out');
      }
      return invoke(connection, op);
    };
    const { ops } = await run(client, (op) => op.key >= 6, { readRatio: 0.5, seed: 3 });
    const readOps = ops.filter((op) => op.f === 'read');
    expect(readOps.length).toBeGreaterThanOrEqual(4);
    const written = new Map(ops.filter((op) => op.type === 'ok' && op.f === 'write').map((op) => [op.key, op.value]));
    for (const op of readOps.filter((o) => o.type === 'ok')) expect(op.value).toBe(written.get(op.key));
    const failed = readOps.filter((op) => op.type !== 'invoke' && op.type !== 'ok');
    expect(untimed(failed)).toEqual([{ type: 'fail', process: 0, f: 'read', key: failed[0]!.key, value: null, node: 'n1', error: 'fake: Command timed out' }]);
    expect(new Set(ops.map((op) => op.process))).toEqual(new Set([0]));
    expect(client.opens).toHaveLength(2);
    expect(client.connections[0]!.closed).toBe(true);
  });

  it('stops: no new operation once stop() is called, the one in flight completes, every connection is closed', async () => {
    const client = new FakeClient(() => ({}));
    const { stats, ops } = await run(client, (op) => op.key === 20, { clients: 4 });
    const invoked = ops.filter((op) => op.type === 'invoke');
    // Four clients each had at most one operation in flight when stop() came.
    expect(Math.max(...invoked.map((op) => op.key))).toBeLessThanOrEqual(23);
    expect(new Set(invoked.map((op) => op.process))).toEqual(new Set([0, 1, 2, 3]));
    expect(stats.invoked).toBe(invoked.length);
    expect(stats.ok).toBe(invoked.length);
    expect(client.connections).toHaveLength(4);
    expect(client.connections.every((c) => c.closed)).toBe(true);
    // Every invoke has its completion, from the same process, before that process invokes again.
    const open = new Map<number, number>();
    for (const op of ops) {
      if (op.type === 'invoke') {
        expect(open.has(op.process)).toBe(false);
        open.set(op.process, op.key);
      } else {
        expect(open.get(op.process)).toBe(op.key);
        open.delete(op.process);
      }
    }
    expect(open.size).toBe(0);
  });
});
