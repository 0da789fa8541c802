// The `redis` section of a topology: the Redis (or Valkey) cluster's nodes, its persistence
// settings (AOF, fsync policy, RDB save points), its redis.conf directives, and the validated form.

import { z } from 'zod';
import { describeValue as describe, strictObject } from '../../schema.ts';
import { DEFAULT_REDIS_VERSION, redisVersions, serverLabel } from './versions.ts';
import { nodeFields, roleField, scalar, volumeBytesOf, type Topology, type TopologySection } from '../../cluster/topology.ts';

const REDIS_SERVERS = ['redis', 'valkey'] as const;
const APPENDFSYNC = ['always', 'everysec', 'no'] as const;

/** Redis's own default snapshot points. */
export const REDIS_DEFAULT_SAVE = '3600 1 300 100 60 10000';

const redisNodeSchema = strictObject({
  name: nodeFields.name.meta({ description: 'Host name on the cluster network, e.g. `redis-primary`. Lower case letters, digits and dashes.' }),
  role: roleField(
    '`primary` accepts writes; `replica` replicates from it (`REPLICAOF`); `archive` is the backup node: it receives copies of the primary\'s RDB snapshot (`redis-cli --rdb`) on a volume of its own, and runs no server.',
  ),
  domain: nodeFields.domain,
  volumeSize: nodeFields.volumeSize,
});
const redisSchema = strictObject({
  engine: z.enum(REDIS_SERVERS, { error: (i) => `'redis.engine' ${describe(i.input)} is not valid: use 'redis' or 'valkey' (the Redis fork)` }).optional().meta({
    description: 'The server: `redis` or `valkey` (the Redis fork). Default `redis`.',
  }),
  version: z.number({ error: (i) => `'redis.version' must be a major version number, e.g. 8; got ${describe(i.input)}` }).int().optional().meta({
    description: `The server's major version, from Debian's archive: Redis 7 (Debian 12) or 8 (Debian 13); Valkey 8 (Debian 13) or 9 (Debian testing). Default ${DEFAULT_REDIS_VERSION.redis} for Redis, ${DEFAULT_REDIS_VERSION.valkey} for Valkey.`,
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
  minReplicasMaxLag: z.number({ error: (i) => `'redis.minReplicasMaxLag' must be a whole number of seconds, got ${describe(i.input)}` }).int().min(0).optional().meta({
    description: '`min-replicas-max-lag`: seconds since a replica\'s last acknowledgement after which it no longer counts for `minReplicasToWrite` (0 to 2147483647). Default 10, as in Redis.',
  }),
  ha: strictObject({
    manager: z.literal('sentinel', { error: (i) => `'redis.ha.manager' ${describe(i.input)} is not a manager faultline runs: use 'sentinel'` }).meta({ description: 'The HA manager: `sentinel` (one Sentinel beside each server).' }),
    quorum: z.number({ error: (i) => `'redis.ha.quorum' must be a whole number of Sentinels, got ${describe(i.input)}` }).int().min(1).optional().meta({
      description: 'Sentinels that must agree the primary is down before a failover. Default: a majority of the Sentinels.',
    }),
    downAfterMs: z.number({ error: (i) => `'redis.ha.downAfterMs' must be milliseconds, got ${describe(i.input)}` }).int().min(100).optional().meta({
      description: '`down-after-milliseconds`. Default 2000, tuned for short drills (Sentinel\'s own is 30000); at 1000 a second failover was seen to follow the first.',
    }),
    failoverTimeoutMs: z.number({ error: (i) => `'redis.ha.failoverTimeoutMs' must be milliseconds, got ${describe(i.input)}` }).int().min(1000).optional().meta({
      description: '`failover-timeout`. Default 5000, tuned for short drills (Sentinel\'s own is 180000).',
    }),
  })
    .optional()
    .meta({ description: 'The cluster\'s own HA manager: with one, faultline performs no failover; it observes what the manager does and records every role change.' }),
  settings: z
    .record(z.string().regex(/^[a-z][a-z0-9-]*$/, { error: (i) => `${describe(i.input)} is not a redis.conf directive (lower case, dashes)` }), scalar)
    .optional()
    .meta({ description: 'More redis.conf directives, e.g. `{"aof-use-rdb-preamble": "no"}`, applied after faultline\'s own.' }),
})
  .superRefine((redis, ctx) => {
    const server = redis.engine ?? 'redis';
    const monitored = redis.nodes.filter((n) => n.role !== 'archive').length;
    if (redis.ha && monitored < 2) ctx.addIssue({ code: 'custom', path: ['ha'], message: `'redis.ha' needs a primary and at least one replica for Sentinel to fail over to; the topology has ${monitored} server(s)` });
    if (redis.ha?.quorum !== undefined && redis.ha.quorum > monitored) {
      ctx.addIssue({ code: 'custom', path: ['ha', 'quorum'], message: `'redis.ha.quorum' ${redis.ha.quorum} is more than the ${monitored} Sentinels faultline runs (one beside each server): no failover could ever be agreed` });
    }
    if (redis.version !== undefined && !redisVersions(server).includes(redis.version)) {
      ctx.addIssue({ code: 'custom', path: ['version'], message: `${serverLabel(server, redis.version)} cannot be built here: use ${server} ${redisVersions(server).join(' or ')}` });
    }
  })
  .meta({ description: 'A Redis (or Valkey) cluster. A topology has `postgres` or `redis`.' });

type RedisSection = z.output<typeof redisSchema>;

/** Sentinel's settings with faultline's defaults for short drills, naming those it chose. */
function sentinelSettings(ha: NonNullable<RedisSection['ha']>, sentinels: number): NonNullable<RedisTopology['redis']['ha']> {
  const defaulted = [
    ...(ha.quorum === undefined ? [`quorum ${Math.floor(sentinels / 2) + 1} (a majority)`] : []),
    ...(ha.downAfterMs === undefined ? ['down-after-milliseconds 2000'] : []),
    ...(ha.failoverTimeoutMs === undefined ? ['failover-timeout 5000'] : []),
  ];
  return { manager: ha.manager, quorum: ha.quorum ?? Math.floor(sentinels / 2) + 1, downAfterMs: ha.downAfterMs ?? 2000, failoverTimeoutMs: ha.failoverTimeoutMs ?? 5000, defaulted };
}

/** A Redis topology as users write it. */
export type RedisTopologySpec = { domains: string[]; redis: z.input<typeof redisSchema>; postgres?: undefined };

export interface RedisTopology extends Topology {
  engine: 'redis';
  redis: {
    /** Which server runs: Redis or Valkey. */
    server: (typeof REDIS_SERVERS)[number];
    /** Its major version. */
    version: number;
    appendonly: boolean;
    appendfsync: (typeof APPENDFSYNC)[number];
    /** The `save` directive; '' is no RDB snapshots. */
    save: string;
    minReplicasToWrite: number;
    minReplicasMaxLag: number;
    /** The HA manager, when the cluster has its own: Sentinels beside the servers. */
    ha?: { manager: 'sentinel'; quorum: number; downAfterMs: number; failoverTimeoutMs: number; defaulted: string[] };
    /** redis.conf directives as written, faultline's own first. */
    settings: Array<{ name: string; value: string }>;
  };
}

export const redisTopologySection: TopologySection<RedisTopology> = {
  engine: 'redis',
  serverName: 'Redis',
  examplePrimary: 'redis-primary',
  schema: redisSchema,
  nodesOf: (section) => (section as RedisSection).nodes,
  // A pin names the server as well: --valkey 9 runs a Redis drill on Valkey 9.
  pinVersion(section, pins) {
    if (typeof section !== 'object' || section === null) return section;
    const server = REDIS_SERVERS.find((name) => pins[name] !== undefined);
    return server === undefined ? section : { ...section, engine: server, version: pins[server] };
  },
  build(domains, section) {
    const redis = section as RedisSection;
    return {
      engine: 'redis',
      domains,
      nodes: redis.nodes.map((n) => ({ name: n.name, role: n.role, domain: n.domain, volumeBytes: volumeBytesOf(n) })),
      redis: {
        server: redis.engine ?? 'redis',
        version: redis.version ?? DEFAULT_REDIS_VERSION[redis.engine ?? 'redis'],
        appendonly: redis.appendonly ?? false,
        appendfsync: redis.appendfsync ?? 'everysec',
        save: (redis.save ?? REDIS_DEFAULT_SAVE).trim().replace(/\s+/g, ' '),
        minReplicasToWrite: redis.minReplicasToWrite ?? 0,
        minReplicasMaxLag: redis.minReplicasMaxLag ?? 10,
        ...(redis.ha ? { ha: sentinelSettings(redis.ha, redis.nodes.filter((n) => n.role !== 'archive').length) } : {}),
        settings: Object.entries(redis.settings ?? {}).map(([name, value]) => ({ name, value: typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value) })),
      },
    };
  },
};
