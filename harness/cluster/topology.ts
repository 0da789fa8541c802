// The topology of a cluster as plain data: which nodes exist, their roles, and the failure domain
// each node's volume lives in. The Sidekick mistake is a topology whose primary data and backups
// share one domain; this module makes that placement explicit and checks it before anything starts.
// Each engine adds its own section (`postgres`, `redis`, …); the schema is assembled from them.

import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { describeValue as describe, parseOrThrow, strictObject } from '../schema.ts';
import { formatBytes, parseSize } from '../units.ts';

export const MIN_VOLUME_BYTES = 64 * 1024 ** 2;
export const DEFAULT_VOLUME_BYTES = 512 * 1024 ** 2;
export const NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
export const NAME_RULE = 'use 2 to 32 lower case letters, digits and dashes, starting with a letter';
export const ROLES = ['primary', 'replica', 'archive'] as const;
export type NodeRole = (typeof ROLES)[number];

/** A setting's value as users write it. */
export const scalar = z.union([z.string(), z.number(), z.boolean()], { error: (i) => `a setting's value must be a string, a number or true/false, got ${describe(i.input)}` });
/** A value, or a value with where it came from (`faultline validate` names the file and line). */
export const settingValue = z.union([scalar, strictObject({ value: scalar, source: z.string() })]);

/** The fields every engine's node has; an engine adds its own and describes `role` in its terms. */
export const nodeFields = {
  name: z.string({ error: (i) => `node name ${describe(i.input)} is not valid: ${NAME_RULE}` }).regex(NAME, { error: (i) => `node name ${describe(i.input)} is not valid: ${NAME_RULE}` }),
  domain: z.string({ error: (i) => `the failure domain must be a name from 'domains', got ${describe(i.input)}` }).meta({
    description: 'The failure domain (SAN, rack, site) its volume lives in. Must be one of `domains`.',
  }),
  volumeSize: z
    .union([z.string(), z.number()], { error: (i) => `volume size ${describe(i.input)} is not a size: write it like '512M' or '1G'` })
    .optional()
    .meta({ description: 'Size of the node\'s volume, e.g. `512M`. At least 64 MiB. Default 512 MiB (sparse).' }),
};

/** The role field, described in an engine's terms. */
export function roleField(description: string) {
  return z.enum(ROLES, { error: (i) => `role ${describe(i.input)} is not a role: use 'primary', 'replica' or 'archive'` }).meta({ description });
}

/** A node as the topology declares it, whatever the engine. */
export interface NodeSpec {
  name: string;
  role: NodeRole;
  domain: string;
  volumeBytes: number;
  /** Volumes the node has besides its own, by name (a Patroni member's etcd: 'etcd'), in the same failure domain. */
  volumes?: string[];
}

/** A validated topology: every default filled in, every reference resolved. Engines extend it. */
export interface Topology {
  /** The engine's section name, e.g. 'postgres'. */
  engine: string;
  domains: string[];
  /** The nodes, whatever the engine: name, role, failure domain and volume size. */
  nodes: NodeSpec[];
}

/** A node as users write it (the fields the shared checks read). */
export interface NodeInput {
  name: string;
  role: NodeRole;
  domain: string;
  volumeSize?: string | number | undefined;
  synchronous?: boolean | undefined;
}

type Issue = (path: PropertyKey[], message: string) => void;

/** An engine's part of the topology: its section's schema, its own checks, and the validated form. */
export interface TopologySection<T extends Topology = Topology> {
  /** The key of the section in a topology file, and the validated topology's `engine`. */
  readonly engine: string;
  /** The server's name in messages ('PostgreSQL'). */
  readonly serverName: string;
  /** The primary's name in the example of a topology's error messages, e.g. 'pg-primary'. */
  readonly examplePrimary: string;
  readonly schema: z.ZodType;
  /** The section's nodes as written. */
  nodesOf(section: unknown): NodeInput[];
  /** Checks across the section's fields (paths start at the section's key). */
  refine?(section: unknown, issue: Issue): void;
  /** The validated topology, every default filled in. */
  build(domains: string[], section: unknown, where: string): T;
  /**
   * The section as written, with its server's version set from `pins` (server name to major, e.g.
   * { postgres: 18, valkey: 9 }) when a pin names its server; the section itself otherwise.
   */
  pinVersion?(section: unknown, pins: Readonly<Record<string, number>>): unknown;
}

/** The volume size of a node as written, in bytes (its default when not given). */
export function volumeBytesOf(node: { volumeSize?: string | number | undefined }): number {
  return node.volumeSize === undefined ? DEFAULT_VOLUME_BYTES : parseSize(node.volumeSize)!;
}

const quoted = (names: readonly string[]) => names.map((n) => `'${n}'`).join(' or ');

/** The schema of a topology file with these engines' sections. */
export function topologySchemaOf(sections: readonly TopologySection[]) {
  const shape: Record<string, z.ZodType> = {
    domains: z
      .array(z.string().regex(NAME, { error: (i) => `failure domain name ${describe(i.input)} is not valid: ${NAME_RULE}` }), {
        error: (i) => `'domains' must list at least one failure domain, e.g. ["san-a", "backup-site"]; got ${describe(i.input)}`,
      })
      .min(1, { error: `'domains' must list at least one failure domain, e.g. ["san-a", "backup-site"]; got []` })
      .meta({ description: 'Failure domains that exist in this cluster, e.g. `["san-a", "san-b", "backup-site"]`.' }),
  };
  const names = sections.map((s) => s.engine);
  for (const section of sections) shape[section.engine] = section.schema.optional();
  return strictObject(shape).superRefine((spec: Record<string, unknown>, ctx) => {
    // What one field cannot tell by itself: references, counts and combinations.
    const domains = spec.domains as string[];
    const issue: Issue = (path, message) => ctx.addIssue({ code: 'custom', path, message });
    domains.forEach((d, i) => domains.indexOf(d) !== i && issue(['domains', i], `failure domain '${d}' is declared twice`));
    const present = sections.filter((s) => spec[s.engine] !== undefined);
    if (present.length > 1) {
      issue([present[1]!.engine], `A topology describes one cluster: it has ${quoted(names)}, not both (run two experiments for two clusters)`);
      return;
    }
    if (present.length === 0) {
      issue([], `A topology needs ${quoted(names)} with its nodes, e.g. "${names[0]}": {"nodes": [{"name": "${sections[0]?.examplePrimary}", "role": "primary", "domain": "${domains[0] ?? 'san-a'}"}]}`);
      return;
    }
    const section = present[0]!;
    checkNodes(section.engine, section.serverName, section.nodesOf(spec[section.engine]), domains, issue);
    section.refine?.(spec[section.engine], issue);
  });
}

/** The checks every engine's nodes get: declared domains, sizes, names, one primary, one archive. */
function checkNodes(key: string, serverName: string, nodes: NodeInput[], domains: string[], issue: Issue): void {
  nodes.forEach((node, i) => {
    const at = [key, 'nodes', i];
    if (!domains.includes(node.domain)) {
      issue([...at, 'domain'], `Node '${node.name}' is placed in failure domain ${describe(node.domain)}, which the topology does not declare (declared: ${domains.join(', ')}): add it to 'domains' or place the node in a declared one`);
    }
    if (node.volumeSize !== undefined) {
      const bytes = parseSize(node.volumeSize);
      if (bytes === undefined) issue([...at, 'volumeSize'], `Node '${node.name}': volume size ${describe(node.volumeSize)} is not a size: write it like '512M' or '1G'`);
      else if (bytes < MIN_VOLUME_BYTES) {
        issue([...at, 'volumeSize'], `Volume size must be at least ${formatBytes(MIN_VOLUME_BYTES)} for ${serverName}: got ${describe(node.volumeSize)} on node '${node.name}'`);
      }
    }
    if (node.synchronous && node.role === 'primary') issue([...at, 'synchronous'], `Node '${node.name}' is the primary and cannot be 'synchronous': mark its replicas or archive instead`);
    if (nodes.findIndex((other) => other.name === node.name) !== i) issue([...at, 'name'], `Node name '${node.name}' is used twice: node names must be unique`);
  });
  const primaries = nodes.filter((node) => node.role === 'primary');
  if (primaries.length === 0) {
    const follower = nodes.find((node) => node.role !== 'primary');
    issue([key, 'nodes'], `Node '${follower?.name}' is a ${follower?.role} without a primary to follow: add a node with role 'primary'`);
  }
  if (primaries.length > 1) issue([key, 'nodes'], `Only one primary is allowed, found ${primaries.map((p) => `'${p.name}'`).join(' and ')}`);
  const archives = nodes.filter((node) => node.role === 'archive');
  if (archives.length > 1) issue([key, 'nodes'], `Only one archive node is supported, found ${archives.map((a) => `'${a.name}'`).join(' and ')}`);
}

/** Topologies made here: passing one back in returns it as it is (it is no longer in the input shape). */
const validated = new WeakSet<object>();

/**
 * Checks a topology against these engines' sections and fills in defaults. Throws a ConfigError that
 * lists every problem with its path, the offending value and how to fix it; `where` prefixes it.
 */
export function validateTopologyWith(sections: readonly TopologySection[], spec: unknown, where = 'topology'): Topology {
  if (validated.has(spec as object)) return spec as Topology;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    const [first, ...rest] = sections.map((s) => `'${s.engine}'`);
    throw new ConfigError(`${where}: expected an object with 'domains' and ${first}${rest.length ? ` (or ${rest.join(' or ')})` : ''}, got ${describe(spec)}`);
  }
  const parsed = parseOrThrow(topologySchemaOf(sections), spec, where) as Record<string, unknown>;
  const section = sections.find((s) => parsed[s.engine] !== undefined)!;
  const topology = section.build(parsed.domains as string[], parsed[section.engine], where);
  validated.add(topology);
  return topology;
}

/** Every problem of a topology, with its path (none when it is valid). */
export function topologyIssuesWith(sections: readonly TopologySection[], spec: unknown): z.core.$ZodIssue[] {
  if (validated.has(spec as object)) return [];
  return topologySchemaOf(sections).safeParse(spec).error?.issues ?? [];
}

/** The JSON Schema of a topology file, for editors to complete and check (`faultline schema`). */
export function topologyJsonSchemaOf(sections: readonly TopologySection[]): Record<string, unknown> {
  return {
    ...z.toJSONSchema(topologySchemaOf(sections), { io: 'input' }),
    title: 'faultline topology',
    description: 'The nodes of a faultline cluster, their roles, and the failure domain each volume lives in.',
  };
}

/** Runs `make`, putting `where` in front of a ConfigError's message. */
export function prefixed<T>(where: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${where}: ${error.message}`);
    throw error;
  }
}
