// The PostgreSQL workload: N concurrent clients writing unique keys through `pg`, each write its own
// transaction, at full speed or a target rate, with optional reads. Every operation is recorded in
// the history when invoked and when it completes. A client whose operation ended indeterminate
// retires: its connection is dropped and a new process id takes over, as in Jepsen.

import pg from 'pg';
import type { HistoryWriter } from '../../history/writer.ts';
import type { OpFunction, OpType } from '../../history/events.ts';
import { seededRandom, type Random } from '../../random.ts';
import { classifyWriteError, describeNotice, isCommittedLocallyNotice, type ServerNotice } from './classify.ts';
import { sleep } from '../../wait.ts';
import type { Workload, WorkloadOptions, WorkloadStats } from '../../workload/types.ts';

export type { WorkloadOptions, WorkloadStats } from '../../workload/types.ts';

export const LEDGER_TABLE = 'faultline_ledger';
export const LEDGER_DDL = `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (key bigint PRIMARY KEY, value text NOT NULL)`;
const INSERT = `INSERT INTO ${LEDGER_TABLE} (key, value) VALUES ($1, $2)`;
const SELECT = `SELECT value FROM ${LEDGER_TABLE} WHERE key = $1`;

/** Where clients should write now: asked again at every (re)connect, so clients follow a failover. */
export interface WorkloadTarget {
  node: string;
  config: pg.ClientConfig;
}

interface Slot {
  process: number;
  client: pg.Client | null;
  node: string;
  notices: ServerNotice[];
}

export class PostgresWorkload implements Workload {
  private readonly history: HistoryWriter;
  private readonly target: () => WorkloadTarget;
  private readonly options: Required<Omit<WorkloadOptions, 'rate' | 'wait' | 'waitAof'>> & { rate?: number };
  private readonly random: Random;
  private nextKey = 1;
  private nextProcess = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];
  private readonly acked: number[] = [];
  private readonly stats: WorkloadStats = { invoked: 0, ok: 0, fail: 0, info: 0, durationMs: 0 };
  private startedAt = 0;

  constructor(history: HistoryWriter, target: () => WorkloadTarget, options: WorkloadOptions = {}) {
    this.history = history;
    this.target = target;
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
    const slot: Slot = { process: this.nextProcess++, client: null, node: '', notices: [] };
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

  /** One write; returns true when the client should back off (no connection could be made). */
  private async write(slot: Slot): Promise<boolean> {
    const key = this.nextKey++;
    const value = `v${key}.p${slot.process}`;
    const target = slot.client ? null : this.target();
    const node = slot.client ? slot.node : target!.node;
    this.record('invoke', slot, 'write', key, value, node);
    if (!slot.client) {
      try {
        await this.connect(slot, target!);
      } catch (error) {
        this.record('fail', slot, 'write', key, value, node, `connect: ${message(error)}`);
        return true;
      }
    }
    slot.notices = [];
    try {
      await slot.client!.query({ name: 'faultline-insert', text: INSERT, values: [key, value] });
      // The client was told success: acknowledged, even when PostgreSQL warned that the commit
      // happened only locally (a cancelled synchronous wait). The warning stays on the record.
      const committedLocally = slot.notices.find(isCommittedLocallyNotice);
      this.record('ok', slot, 'write', key, value, node, undefined, committedLocally ? describeNotice(committedLocally) : undefined);
      this.acked.push(key);
    } catch (error) {
      const outcome = classifyWriteError(error, 'statement');
      const warned = slot.notices.find(isCommittedLocallyNotice);
      this.record(outcome, slot, 'write', key, value, node, warned ? `${describePgError(error)} (after the warning: ${describeNotice(warned)})` : describePgError(error));
      if (outcome === 'info' || !slot.client) this.retire(slot, true);
    }
    return false;
  }

  private async read(slot: Slot): Promise<boolean> {
    const key = this.acked[Math.floor(this.random() * this.acked.length)]!;
    const target = slot.client ? null : this.target();
    const node = slot.client ? slot.node : target!.node;
    this.record('invoke', slot, 'read', key, null, node);
    try {
      if (!slot.client) await this.connect(slot, target!);
      const result = await slot.client!.query<{ value: string }>(SELECT, [key]);
      this.record('ok', slot, 'read', key, result.rows[0]?.value ?? null, node);
      return false;
    } catch (error) {
      // A read changes nothing: it failed, whatever happened to the connection.
      this.record('fail', slot, 'read', key, null, node, describePgError(error));
      this.retire(slot, false);
      return true;
    }
  }

  private async connect(slot: Slot, target: WorkloadTarget): Promise<void> {
    const client = new pg.Client({
      ...target.config,
      connectionTimeoutMillis: this.options.connectTimeoutMs,
      query_timeout: this.options.operationTimeoutMs,
      application_name: `faultline-p${slot.process}`,
    });
    // A connection dropped while idle must not crash the process; the next operation reconnects.
    client.on('error', () => {
      if (slot.client === client) slot.client = null;
    });
    client.on('notice', (notice) => slot.notices.push({ message: notice.message, detail: notice.detail }));
    try {
      await client.connect();
    } catch (error) {
      void client.end().catch(() => {});
      throw error;
    }
    slot.client = client;
    slot.node = target.node;
  }

  /** Drops the connection; after an indeterminate result the process id changes too. */
  private retire(slot: Slot, newProcess: boolean): void {
    const client = slot.client;
    slot.client = null;
    if (client) void client.end().catch(() => {});
    if (newProcess) slot.process = this.nextProcess++;
  }

  private record(type: OpType, slot: Slot, f: OpFunction, key: number, value: string | null, node: string, error?: string, warning?: string): void {
    // Completions go out with the next event (see HistoryWriter.appendSoon): one write per operation.
    const event = { type, process: slot.process, f, key, value, node, ...(error ? { error } : {}), ...(warning ? { warning } : {}) };
    if (type === 'invoke') {
      this.history.append(event);
      this.stats.invoked++;
    } else {
      this.history.appendSoon(event);
      this.stats[type]++;
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The error as a person reads it: SQLSTATE and message for server errors. */
export function describePgError(error: unknown): string {
  const e = error as { code?: string; message?: string; severity?: string };
  if (e && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return `${e.severity ?? 'ERROR'} ${e.code}: ${e.message}`;
  if (e && typeof e.code === 'string') return `${e.code}: ${e.message}`;
  return message(error);
}
