// The workload options only Redis and Valkey have: WAIT and WAITAOF after each write.

import { ConfigError } from '../../errors.ts';
import type { WorkloadOptions } from '../../cluster/engine.ts';
import type { Topology } from '../../cluster/topology.ts';
import { parseDuration } from '../../units.ts';
import type { RedisTopology } from './topology.ts';
import { hasWaitAof, serverLabel } from './versions.ts';

interface Given {
  wait?: { replicas?: unknown; timeout?: string | number };
  waitAof?: { local?: unknown; replicas?: unknown; timeout?: string | number };
}

/** Checks `workload.wait` and `workload.waitAof` of an experiment and turns them into options. */
export function parseRedisWorkloadOptions(given: Record<string, unknown>, topology: Topology, where: string): Partial<WorkloadOptions> {
  const { wait, waitAof } = given as Given;
  const options: Partial<WorkloadOptions> = {};
  const { server, version } = (topology as RedisTopology).redis;
  if (waitAof && !hasWaitAof(server, version)) {
    throw new ConfigError(`${where}: workload.waitAof needs WAITAOF, which ${serverLabel(server, version)} lacks (it came in 7.2): set topology.redis.version to 8, or topology.redis.engine to 'valkey', or use workload.wait`);
  }
  if (wait) options.wait = { replicas: count(wait.replicas, 'workload.wait.replicas', where), timeoutMs: timeout(wait.timeout, `${where}: workload.wait.timeout`) };
  if (waitAof) {
    const local = count(waitAof.local, 'workload.waitAof.local', where);
    if (local > 1) throw new ConfigError(`${where}: workload.waitAof.local must be 0 or 1 (the primary's own AOF), got ${local}`);
    options.waitAof = { local, replicas: count(waitAof.replicas, 'workload.waitAof.replicas', where), timeoutMs: timeout(waitAof.timeout, `${where}: workload.waitAof.timeout`) };
  }
  return options;
}

function count(value: unknown, what: string, where: string): number {
  if (!Number.isInteger(value) || (value as number) < 0) throw new ConfigError(`${where}: ${what} must be a whole number, 0 or more, got ${JSON.stringify(value)}`);
  return value as number;
}

function timeout(value: string | number | undefined, what: string): number {
  if (value === undefined) return 1000;
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConfigError(`${what} must be a duration like '500ms', '10s' or '2m': got ${JSON.stringify(value)}`);
  return ms;
}
