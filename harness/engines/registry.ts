// The engines faultline has, by name: the one place that knows every engine's folder. Everything
// else (runner, recovery steps, faults, report) reaches an engine through `engineFor`.

import { postgresEngine } from './postgres/engine.ts';
import { redisEngine } from './redis/engine.ts';
import type { Engine, EngineName } from '../cluster/engine.ts';
import type { Topology } from '../cluster/topology.ts';

export const engines: readonly Engine[] = [postgresEngine, redisEngine];

/** The engine of a topology (or of a cluster started from one). */
export function engineFor(of: Topology | { topology: Topology } | EngineName): Engine {
  const name = typeof of === 'string' ? of : 'topology' in of ? of.topology.engine : of.engine;
  const engine = engines.find((e) => e.name === name);
  if (!engine) throw new Error(`no engine '${name}'`);
  return engine;
}
