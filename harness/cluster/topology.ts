// The topology of a cluster as plain data: which nodes exist, their roles, and the failure domain
// each node's volume lives in. The Sidekick mistake is a topology whose primary data and backups
// share one domain; this module makes that placement explicit and checks it before anything starts.

import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { describeValue as describe, parseOrThrow, strictObject } from '../schema.ts';
import { formatBytes, parseSize } from '../units.ts';
import { applyUserSettings, type AppliedSettings, type UserSetting } from '../engines/postgres/user-settings.ts';

export const MIN_POSTGRES_VOLUME_BYTES = 64 * 1024 ** 2;
export const DEFAULT_VOLUME_BYTES = 512 * 1024 ** 2;
const SUPPORTED_POSTGRES = [13, 14, 15, 16, 17];
const NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
const NAME_RULE = 'use 2 to 32 lower case letters, digits and dashes, starting with a letter';
const ROLES = ['primary', 'replica', 'archive'] as const;
const SYNC_COMMIT = ['on', 'off', 'local', 'remote_write', 'remote_apply'] as const;
const BACKUP_TOOLS = ['pg_receivewal', 'pgbackrest'] as const;

const scalar = z.union([z.string(), z.number(), z.boolean()], { error: (i) => `a setting's value must be a string, a number or true/false, got ${describe(i.input)}` });
/** A value, or a value with where it came from (`faultline validate` names the file and line). */
const settingValue = z.union([scalar, strictObject({ value: scalar, source: z.string() })]);
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const settingsSchema = z
  .record(z.string(), settingValue)
  .superRefine((settings, ctx) => {
    for (const name of Object.keys(settings)) {
      if (!SETTING_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `${describe(name)} is not a PostgreSQL setting name` });
    }
  })
  .optional()
  .meta({
    description:
      "PostgreSQL settings, as in postgresql.conf (e.g. `{\"synchronous_commit\": \"on\", \"wal_keep_size\": \"1GB\"}`), applied after faultline's own. Settings that name the user's site (addresses, paths, TLS files) are mapped to the container's and reported; ones that cannot run (a library the image lacks) are refused.",
  });
const PGBR_SECTION = /^(global|[A-Za-z0-9_.-]+)(:[a-z-]+)?$/;
const PGBR_OPTION = /^[a-z0-9][a-z0-9-]*$/;
const pgbackrestSchema = z
  .record(z.string(), z.record(z.string(), z.union([settingValue, z.array(scalar)])))
  .superRefine((sections, ctx) => {
    for (const [section, options] of Object.entries(sections)) {
      if (!PGBR_SECTION.test(section)) ctx.addIssue({ code: 'custom', path: [section], message: `${describe(section)} is not a pgbackrest.conf section: use 'global', 'global:archive-push' or a stanza name` });
      for (const key of Object.keys(options)) {
        if (!PGBR_OPTION.test(key)) ctx.addIssue({ code: 'custom', path: [section, key], message: `${describe(key)} is not a pgBackRest option name (lower case, dashes)` });
      }
    }
  })
  .optional()
  .meta({
    description:
      'pgBackRest options by pgbackrest.conf section (`global`, `global:archive-push`, a stanza), e.g. `{"global": {"archive-async": "y"}}`; needs backupTool `pgbackrest`. Repository paths, hosts and cloud repositories are mapped to the run\'s repository on the archive node.',
  });

const nodeSchema = strictObject({
  name: z.string({ error: (i) => `node name ${describe(i.input)} is not valid: ${NAME_RULE}` }).regex(NAME, { error: (i) => `node name ${describe(i.input)} is not valid: ${NAME_RULE}` }).meta({
    description: 'Host name on the cluster network, e.g. `pg-primary`. Lower case letters, digits and dashes.',
  }),
  role: z.enum(ROLES, { error: (i) => `role ${describe(i.input)} is not a role: use 'primary', 'replica' or 'archive'` }).meta({
    description:
      '`primary` accepts writes; `replica` streams from the primary (hot standby, its own replication slot); `archive` is the backup repository: it receives the WAL stream with `pg_receivewal` (its own slot) and holds base backups, on a volume of its own.',
  }),
  domain: z.string({ error: (i) => `the failure domain must be a name from 'domains', got ${describe(i.input)}` }).meta({
    description: 'The failure domain (SAN, rack, site) its volume lives in. Must be one of `domains`.',
  }),
  volumeSize: z
    .union([z.string(), z.number()], { error: (i) => `volume size ${describe(i.input)} is not a size: write it like '512M' or '1G'` })
    .optional()
    .meta({ description: 'Size of the node\'s volume, e.g. `512M`. At least 64 MiB. Default 512 MiB (sparse).' }),
  synchronous: z
    .boolean({ error: (i) => `'synchronous' must be true or false, got ${describe(i.input)}` })
    .optional()
    .meta({ description: 'Replica or archive only: the primary waits for it to flush commits (`synchronous_standby_names`).' }),
  settings: settingsSchema,
});

const REDIS_SERVERS = ['redis', 'valkey'] as const;
const APPENDFSYNC = ['always', 'everysec', 'no'] as const;
const redisNodeSchema = strictObject({
  name: nodeSchema.shape.name.meta({ description: 'Host name on the cluster network, e.g. `redis-primary`. Lower case letters, digits and dashes.' }),
  role: z.enum(ROLES, { error: (i) => `role ${describe(i.input)} is not a role: use 'primary', 'replica' or 'archive'` }).meta({
    description:
      '`primary` accepts writes; `replica` replicates from it (`REPLICAOF`); `archive` is the backup node: it receives copies of the primary\'s RDB snapshot (`redis-cli --rdb`) on a volume of its own, and runs no server.',
  }),
  domain: nodeSchema.shape.domain,
  volumeSize: nodeSchema.shape.volumeSize,
});
const redisSchema = strictObject({
  engine: z.enum(REDIS_SERVERS, { error: (i) => `'redis.engine' ${describe(i.input)} is not valid: use 'redis' (Redis 7.0) or 'valkey' (Valkey 8, with WAITAOF)` }).optional().meta({
    description: "The server: `redis` (Debian's Redis 7.0) or `valkey` (Valkey 8.0, the Redis fork, which has `WAITAOF`). Default `redis`.",
  }),
  nodes: z
    .array(redisNodeSchema, { error: `'redis.nodes' must list the nodes, at least a primary, e.g. [{"name": "redis-primary", "role": "primary", "domain": "san-a"}]` })
    .min(1, { error: `'redis.nodes' must list at least a primary, e.g. [{"name": "redis-primary", "role": "primary", "domain": "san-a"}]` }),
  appendonly: z.boolean({ error: (i) => `'redis.appendonly' must be true or false, got ${describe(i.input)}` }).optional().meta({ description: 'The append-only file (AOF). Default false, as in Redis.' }),
  appendfsync: z.enum(APPENDFSYNC, { error: (i) => `'redis.appendfsync' ${describe(i.input)} is not valid: use 'always', 'everysec' or 'no'` }).optional().meta({
    description: 'When the AOF is fsynced: `always` (before each reply), `everysec` (default) or `no` (when the kernel writes it).',
  }),
  save: z.string({ error: (i) => `'redis.save' must be a string of "seconds changes" pairs, e.g. "60 1000", or "" for no snapshots; got ${describe(i.input)}` })
    .regex(/^\s*(\d+\s+\d+\s*)*$/, { error: (i) => `'redis.save' ${describe(i.input)} is not valid: write "seconds changes" pairs, e.g. "3600 1 300 100", or "" for no RDB snapshots` })
    .optional()
    .meta({ description: 'RDB snapshot points, "seconds changes" pairs (`save` in redis.conf); `""` turns snapshots off. Default Redis\'s own: "3600 1 300 100 60 10000".' }),
  minReplicasToWrite: z.number({ error: (i) => `'redis.minReplicasToWrite' must be a whole number, got ${describe(i.input)}` }).int().min(0).optional().meta({
    description: '`min-replicas-to-write`: the primary refuses writes unless this many replicas are connected (lag under `min-replicas-max-lag`, 10 s). Default 0.',
  }),
  settings: z
    .record(z.string().regex(/^[a-z][a-z0-9-]*$/, { error: (i) => `${describe(i.input)} is not a redis.conf directive (lower case, dashes)` }), scalar)
    .optional()
    .meta({ description: 'More redis.conf directives, e.g. `{"aof-use-rdb-preamble": "no"}`, applied after faultline\'s own.' }),
});

/** A topology as users write it: JSON for `--topology`, an object for the API. */
export const topologySchema = strictObject({
  domains: z
    .array(z.string().regex(NAME, { error: (i) => `failure domain name ${describe(i.input)} is not valid: ${NAME_RULE}` }), {
      error: (i) => `'domains' must list at least one failure domain, e.g. ["san-a", "backup-site"]; got ${describe(i.input)}`,
    })
    .min(1, { error: `'domains' must list at least one failure domain, e.g. ["san-a", "backup-site"]; got []` })
    .meta({ description: 'Failure domains that exist in this cluster, e.g. `["san-a", "san-b", "backup-site"]`.' }),
  postgres: strictObject({
    version: z
      .number({ error: (i) => `PostgreSQL version ${describe(i.input)} is not supported: use one of ${SUPPORTED_POSTGRES.join(', ')}` })
      .refine((v) => SUPPORTED_POSTGRES.includes(v), { error: (i) => `PostgreSQL version ${describe(i.input)} is not supported: use one of ${SUPPORTED_POSTGRES.join(', ')}` })
      .optional()
      .meta({ description: "PostgreSQL major version installed in the node image (Debian's packages). Default 15." }),
    nodes: z
      .array(nodeSchema, { error: `'postgres.nodes' must list the nodes, at least a primary, e.g. [{"name": "pg-primary", "role": "primary", "domain": "san-a"}]` })
      .min(1, { error: `'postgres.nodes' must list at least a primary, e.g. [{"name": "pg-primary", "role": "primary", "domain": "san-a"}]` }),
    synchronousCommit: z
      .enum(SYNC_COMMIT, { error: (i) => `'synchronousCommit' ${describe(i.input)} is not valid: use one of ${SYNC_COMMIT.join(', ')}` })
      .optional()
      .meta({ description: '`synchronous_commit` on the primary. Default `on`.' }),
    backupTool: z
      .enum(BACKUP_TOOLS, { error: (i) => `'backupTool' ${describe(i.input)} is not supported: use 'pg_receivewal' or 'pgbackrest'` })
      .optional()
      .meta({
        description:
          'How the archive node backs up: `pg_receivewal` (streamed WAL, base backups by pg_basebackup; the default) or `pgbackrest` (archive_command to a pgBackRest repository over TLS).',
      }),
    archiveTimeout: z
      .string({ error: (i) => `'archiveTimeout' ${describe(i.input)} is not a PostgreSQL duration: write it like '1s' or '60s'` })
      .regex(/^\d+(ms|s|min)?$/, { error: (i) => `'archiveTimeout' ${describe(i.input)} is not a PostgreSQL duration: write it like '1s' or '60s'` })
      .optional()
      .meta({ description: 'With pgbackrest: `archive_timeout`, the longest a WAL segment waits to be archived. Default 60s.' }),
    archiveWal: z
      .enum(['stream', 'none'], { error: (i) => `'archiveWal' ${describe(i.input)} is not valid: use 'stream' or 'none'` })
      .optional()
      .meta({
        description:
          "With pg_receivewal: how WAL reaches the archive node. `stream` (default): pg_receivewal streams it. `none`: the archive holds base backups only, as behind an archive_command that copies nothing (`faultline validate` sets it for one).",
      }),
    settings: settingsSchema,
    pgbackrest: pgbackrestSchema,
  }).optional().meta({ description: 'A PostgreSQL cluster. A topology has `postgres` or `redis`.' }),
  redis: redisSchema.optional().meta({ description: 'A Redis (or Valkey) cluster. A topology has `postgres` or `redis`.' }),
})
  .superRefine((spec, ctx) => {
    // What one field cannot tell by itself: references, counts and combinations.
    const { domains } = spec;
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    domains.forEach((d, i) => domains.indexOf(d) !== i && issue(['domains', i], `failure domain '${d}' is declared twice`));
    if (spec.postgres && spec.redis) {
      issue(['redis'], `A topology describes one cluster: it has 'postgres' or 'redis', not both (run two experiments for two clusters)`);
      return;
    }
    if (!spec.postgres && !spec.redis) {
      issue([], `A topology needs 'postgres' or 'redis' with its nodes, e.g. "postgres": {"nodes": [{"name": "pg-primary", "role": "primary", "domain": "${domains[0] ?? 'san-a'}"}]}`);
      return;
    }
    const section = spec.postgres ? 'postgres' : 'redis';
    const nodesOf: Array<{ name: string; role: NodeRole; domain: string; volumeSize?: string | number | undefined; synchronous?: boolean | undefined }> = spec.postgres?.nodes ?? spec.redis!.nodes;
    nodesOf.forEach((node, i) => {
      const at = [section, 'nodes', i];
      if (!domains.includes(node.domain)) {
        issue([...at, 'domain'], `Node '${node.name}' is placed in failure domain ${describe(node.domain)}, which the topology does not declare (declared: ${domains.join(', ')}): add it to 'domains' or place the node in a declared one`);
      }
      if (node.volumeSize !== undefined) {
        const bytes = parseSize(node.volumeSize);
        if (bytes === undefined) issue([...at, 'volumeSize'], `Node '${node.name}': volume size ${describe(node.volumeSize)} is not a size: write it like '512M' or '1G'`);
        else if (bytes < MIN_POSTGRES_VOLUME_BYTES) {
          issue([...at, 'volumeSize'], `Volume size must be at least ${formatBytes(MIN_POSTGRES_VOLUME_BYTES)} for ${section === 'postgres' ? 'PostgreSQL' : 'Redis'}: got ${describe(node.volumeSize)} on node '${node.name}'`);
        }
      }
      if (node.synchronous && node.role === 'primary') issue([...at, 'synchronous'], `Node '${node.name}' is the primary and cannot be 'synchronous': mark its replicas or archive instead`);
      if (nodesOf.findIndex((other) => other.name === node.name) !== i) issue([...at, 'name'], `Node name '${node.name}' is used twice: node names must be unique`);
    });
    const primaries = nodesOf.filter((node) => node.role === 'primary');
    if (primaries.length === 0) {
      const follower = nodesOf.find((node) => node.role !== 'primary');
      issue([section, 'nodes'], `Node '${follower?.name}' is a ${follower?.role} without a primary to follow: add a node with role 'primary'`);
    }
    if (primaries.length > 1) issue([section, 'nodes'], `Only one primary is allowed, found ${primaries.map((p) => `'${p.name}'`).join(' and ')}`);
    const archives = nodesOf.filter((node) => node.role === 'archive');
    if (archives.length > 1) issue([section, 'nodes'], `Only one archive node is supported, found ${archives.map((a) => `'${a.name}'`).join(' and ')}`);
    const postgres = spec.postgres;
    if (!postgres) return;
    if (postgres.archiveWal === 'none' && postgres.backupTool === 'pgbackrest') {
      issue(['postgres', 'archiveWal'], `'archiveWal' 'none' applies to a pg_receivewal archive; pgBackRest's repository receives what archive_command pushes`);
    }
    if (postgres.backupTool === 'pgbackrest') {
      if (archives.length === 0) issue(['postgres', 'backupTool'], `'backupTool' is 'pgbackrest' but no node has role 'archive' to hold the repository`);
      if (archives[0]?.synchronous) {
        issue(['postgres', 'nodes', postgres.nodes.indexOf(archives[0]), 'synchronous'], `Node '${archives[0].name}' cannot be synchronous with pgbackrest: it receives WAL by archive_command, not by streaming`);
      }
    }
  });

/**
 * A topology as users write it: which nodes exist, their roles, and the failure domain each
 * node's volume lives in (derived from `topologySchema`).
 */
export type TopologySpec = PostgresTopologySpec | RedisTopologySpec;
type RawTopologySpec = z.input<typeof topologySchema>;
export type PostgresTopologySpec = Omit<RawTopologySpec, 'postgres' | 'redis'> & { postgres: NonNullable<RawTopologySpec['postgres']>; redis?: undefined };
export type RedisTopologySpec = Omit<RawTopologySpec, 'postgres' | 'redis'> & { redis: NonNullable<RawTopologySpec['redis']>; postgres?: undefined };
/** One PostgreSQL node: a container whose data (or, for `archive`, the WAL archive) is on its own volume. */
export type PostgresNodeSpec = PostgresTopologySpec['postgres']['nodes'][number];
export type NodeRole = (typeof ROLES)[number];
export type PostgresRole = NodeRole;
export type SynchronousCommit = (typeof SYNC_COMMIT)[number];
export type BackupTool = (typeof BACKUP_TOOLS)[number];

/** A validated topology of either engine: every default filled in, every reference resolved. */
export type Topology = PostgresTopology | RedisTopology;

/** What every engine's topology has: the failure domains and the nodes placed in them. */
interface TopologyBase {
  domains: string[];
  /** The nodes, whatever the engine: name, role, failure domain and volume size. */
  nodes: Array<{ name: string; role: NodeRole; domain: string; volumeBytes: number }>;
}

export interface PostgresTopology extends TopologyBase {
  engine: 'postgres';
  nodes: PostgresNode[];
  postgres: {
    version: number;
    synchronousCommit: SynchronousCommit;
    /** The value for `synchronous_standby_names`, empty when nothing is synchronous. */
    synchronousStandbyNames: string;
    backupTool: BackupTool;
    archiveTimeout: string;
    /** How WAL reaches a pg_receivewal archive: streamed, or not at all (base backups only). */
    archiveWal: 'stream' | 'none';
    nodes: PostgresNode[];
    /** The user's settings and pgBackRest options as the cluster runs them, and what was mapped. */
    applied: AppliedSettings;
  };
}

export interface PostgresNode {
  name: string;
  role: PostgresRole;
  domain: string;
  volumeBytes: number;
  synchronous: boolean;
  settings: UserSetting[];
}

export interface RedisTopology extends TopologyBase {
  engine: 'redis';
  redis: {
    /** Which server runs: Debian's Redis 7.0 or Valkey 8.0. */
    server: (typeof REDIS_SERVERS)[number];
    appendonly: boolean;
    appendfsync: (typeof APPENDFSYNC)[number];
    /** The `save` directive; '' is no RDB snapshots. */
    save: string;
    minReplicasToWrite: number;
    /** redis.conf directives as written, faultline's own first. */
    settings: Array<{ name: string; value: string }>;
  };
}

/** The topology most drills start from: primary, replica and archive, each in a domain of its own. */
export const defaultTopology: PostgresTopologySpec = {
  domains: ['san-a', 'san-b', 'backup-site'],
  postgres: {
    nodes: [
      { name: 'pg-primary', role: 'primary', domain: 'san-a' },
      { name: 'pg-replica', role: 'replica', domain: 'san-b' },
      { name: 'pg-archive', role: 'archive', domain: 'backup-site' },
    ],
  },
};

/** Redis's own default snapshot points. */
export const REDIS_DEFAULT_SAVE = '3600 1 300 100 60 10000';

/**
 * Checks a topology and fills in defaults. Throws a ConfigError that lists every problem with its
 * path, the offending value and how to fix it; `where` prefixes it (e.g. the file it came from).
 */
export function validateTopology(spec: unknown, where = 'topology'): Topology {
  if (validated.has(spec as object)) return spec as Topology;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new ConfigError(`${where}: expected an object with 'domains' and 'postgres' (or 'redis'), got ${describe(spec)}`);
  }
  const parsed = parseOrThrow(topologySchema, spec, where);
  const topology: Topology = parsed.redis ? redisTopology(parsed.domains, parsed.redis) : postgresTopology(parsed.domains, parsed.postgres!, where);
  validated.add(topology);
  return topology;
}

/** Like validateTopology, for code that runs PostgreSQL only: a Redis topology is a ConfigError. */
export function validatePostgresTopology(spec: unknown, where = 'topology'): PostgresTopology {
  const topology = validateTopology(spec, where);
  if (topology.engine !== 'postgres') throw new ConfigError(`${where}: this needs a PostgreSQL topology ('postgres' with its nodes), got a ${topology.engine} one`);
  return topology;
}

function redisTopology(domains: string[], redis: NonNullable<z.output<typeof topologySchema>['redis']>): RedisTopology {
  const nodes = redis.nodes.map((n) => ({ name: n.name, role: n.role, domain: n.domain, volumeBytes: n.volumeSize === undefined ? DEFAULT_VOLUME_BYTES : parseSize(n.volumeSize)! }));
  return {
    engine: 'redis',
    domains,
    nodes,
    redis: {
      server: redis.engine ?? 'redis',
      appendonly: redis.appendonly ?? false,
      appendfsync: redis.appendfsync ?? 'everysec',
      save: (redis.save ?? REDIS_DEFAULT_SAVE).trim().replace(/\s+/g, ' '),
      minReplicasToWrite: redis.minReplicasToWrite ?? 0,
      settings: Object.entries(redis.settings ?? {}).map(([name, value]) => ({ name, value: typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value) })),
    },
  };
}

function postgresTopology(domains: string[], postgres: NonNullable<z.output<typeof topologySchema>['postgres']>, where: string): PostgresTopology {
  const nodes = postgres.nodes.map((n) => ({
    name: n.name,
    role: n.role,
    domain: n.domain,
    volumeBytes: n.volumeSize === undefined ? DEFAULT_VOLUME_BYTES : parseSize(n.volumeSize)!,
    synchronous: n.synchronous === true,
    settings: userSettings(n.settings, `${where}, postgres.nodes '${n.name}' settings`),
  }));
  const backupTool = postgres.backupTool ?? 'pg_receivewal';
  const applied = prefixed(where, () => applyUserSettings({
    settings: userSettings(postgres.settings, `${where}, postgres.settings`),
    nodes,
    pgbackrest: Object.entries(postgres.pgbackrest ?? {}).flatMap(([section, options]) =>
      Object.entries(options).map(([key, raw]) => {
        const { value, source } = typeof raw === 'object' && !Array.isArray(raw) ? raw : { value: raw, source: `${where}, postgres.pgbackrest.${section}.${key}` };
        return { section, key, values: (Array.isArray(value) ? value : [value]).map(String), source };
      }),
    ),
    backupTool,
  }));
  const synchronous = nodes.filter((node) => node.synchronous).map((node) => `"${node.name}"`);
  return {
    engine: 'postgres',
    domains,
    nodes,
    postgres: {
      version: postgres.version ?? 15,
      synchronousCommit: postgres.synchronousCommit ?? 'on',
      synchronousStandbyNames: synchronous.length > 0 ? `ANY 1 (${synchronous.join(', ')})` : '',
      backupTool,
      archiveTimeout: postgres.archiveTimeout ?? '60s',
      archiveWal: postgres.archiveWal ?? 'stream',
      nodes,
      applied,
    },
  };
}

function prefixed<T>(where: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${where}: ${error.message}`);
    throw error;
  }
}

/** Settings as written (a value, or a value with its source), in order, with their sources. */
function userSettings(settings: Record<string, z.infer<typeof settingValue>> | undefined, where: string): UserSetting[] {
  return Object.entries(settings ?? {}).map(([name, raw]) => {
    const { value, source } = typeof raw === 'object' ? raw : { value: raw, source: `${where}.${name}` };
    return { name: name.toLowerCase(), value: typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value), source };
  });
}

/** Topologies this module made: passing one back in returns it as it is (it is no longer in the input shape). */
const validated = new WeakSet<object>();

/** Every problem of a topology, with its path (none when it is valid). */
export function topologyIssues(spec: unknown): z.core.$ZodIssue[] {
  if (validated.has(spec as object)) return [];
  return topologySchema.safeParse(spec).error?.issues ?? [];
}

/** The JSON Schema of a topology file, for editors to complete and check (`faultline schema`). */
export function topologyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(topologySchema, { io: 'input' }),
    title: 'faultline topology',
    description: 'The nodes of a faultline cluster, their roles, and the failure domain each volume lives in.',
  };
}
