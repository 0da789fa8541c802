// The engines faultline has, by name: the one file that names them. Everything else reaches an
// engine through a started cluster (`cluster.engine`) or asks here once, for a topology.

import { ConfigError } from '../errors.ts';
import { topologyIssuesWith, topologyJsonSchemaOf, validateTopologyWith, type Topology } from '../cluster/topology.ts';
import type { Engine, EngineName } from '../cluster/engine.ts';
import { postgresEngine, type PostgresTopologySpec } from './postgres/index.ts';
import { redisEngine, type RedisTopologySpec } from './redis/index.ts';

/** The engines, in the order `faultline list` shows them. Tests may add one (registerEngine). */
export const engines: readonly Engine[] = [postgresEngine, redisEngine];

/** A topology as users write it, for any shipped engine (a registered one's is checked at run time). */
export type TopologySpec = PostgresTopologySpec | RedisTopologySpec;

/**
 * Adds an engine (a test's own, or a plugin's) to the registry; returns how to remove it again.
 * Its topology section, actions and image hook are then used like the shipped engines'.
 */
export function registerEngine(engine: Engine): () => void {
  if (engines.some((e) => e.name === engine.name)) throw new ConfigError(`An engine named '${engine.name}' is already registered`);
  (engines as Engine[]).push(engine);
  return () => {
    const at = engines.indexOf(engine);
    if (at >= 0) (engines as Engine[]).splice(at, 1);
  };
}

const sections = () => engines.map((engine) => engine.topology);

/** The engine of a topology (or of a cluster started from one). */
export function engineFor(of: Topology | { topology: Topology } | EngineName): Engine {
  const name = typeof of === 'string' ? of : 'topology' in of ? of.topology.engine : of.engine;
  const engine = engines.find((e) => e.name === name);
  if (!engine) throw new ConfigError(`No engine '${name}' (engines: ${engines.map((e) => e.name).join(', ')})`);
  return engine;
}

/**
 * Checks a topology and fills in defaults. Throws a ConfigError that lists every problem with its
 * path, the offending value and how to fix it; `where` prefixes it (e.g. the file it came from).
 */
export function validateTopology(spec: unknown, where = 'topology'): Topology {
  return validateTopologyWith(sections(), spec, where);
}

/** Every problem of a topology, with its path (none when it is valid). */
export function topologyIssues(spec: unknown) {
  return topologyIssuesWith(sections(), spec);
}

/** The JSON Schema of a topology file, for editors to complete and check (`faultline schema`). */
export function topologyJsonSchema(): Record<string, unknown> {
  return topologyJsonSchemaOf(sections());
}

/**
 * A topology as written, with each engine's server version replaced where `pins` names it
 * (e.g. { postgres: 18 } runs a shipped drill on PostgreSQL 18); anything else is left as it is.
 */
export function pinVersions(spec: unknown, pins: Readonly<Record<string, number>>): unknown {
  if (typeof spec !== 'object' || spec === null || Object.keys(pins).length === 0) return spec;
  const pinned: Record<string, unknown> = { ...(spec as Record<string, unknown>) };
  for (const section of sections()) {
    const given = pinned[section.engine];
    if (given !== undefined && section.pinVersion) pinned[section.engine] = section.pinVersion(given, pins);
  }
  return pinned;
}
