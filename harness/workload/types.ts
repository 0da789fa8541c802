// What every engine's workload takes and gives: the options, the counts, and start/stop.

export interface WorkloadOptions {
  /** Concurrent clients. Default 4: two per core on the 2-core machines faultline is built for. */
  clients?: number;
  /** Target operations per second over all clients; undefined means as fast as possible. */
  rate?: number;
  /** Share of operations that are reads of a previously acknowledged key, 0 to 1. Default 0. */
  readRatio?: number;
  /** Client-side limit for one operation; past it the operation is indeterminate. Default 10 s. */
  operationTimeoutMs?: number;
  /** Limit for establishing a connection. Default 2 s. */
  connectTimeoutMs?: number;
  /**
   * Redis: after each write, `WAIT replicas timeout` (and/or `WAITAOF local replicas timeout`), with
   * what they returned recorded on the write. A write is acknowledged either way, as Redis does.
   */
  wait?: { replicas: number; timeoutMs?: number };
  waitAof?: { local: number; replicas: number; timeoutMs?: number };
  seed?: number;
}

export interface WorkloadStats {
  invoked: number;
  ok: number;
  fail: number;
  info: number;
  durationMs: number;
}

/** Clients writing into the running cluster; they follow the primary when it changes. */
export interface Workload {
  start(): void;
  /** Stops invoking new operations, waits for those in flight, closes connections. */
  stop(): Promise<WorkloadStats>;
}

