// The `postgres` section of a topology: the PostgreSQL cluster's nodes, its commit and backup
// settings (incremental backups included), the user's own postgresql.conf settings and pgBackRest
// options, and the validated form.

import { z } from 'zod';
import { ConfigError } from '../../errors.ts';
import { describeValue as describe, didYouMean, strictObject } from '../../schema.ts';
import { nodeFields, prefixed, roleField, scalar, settingValue, validateTopologyWith, volumeBytesOf, type NodeRole, type Topology, type TopologySection } from '../../cluster/topology.ts';
import { DEFAULT_POSTGRES, POSTGRES_VERSIONS, supportedPostgresText } from './versions.ts';
import { applyUserSettings, type AppliedSettings, type UserSetting } from './user-settings.ts';
import { barmanConfIssues } from './barman/conf.ts';
import { walArchiveOf } from './barman/wal-archive.ts';
import { incrementalAfterMs, incrementalAfterSchema, incrementalIssues, INCREMENTAL_TOOL } from './incremental-topology.ts';
import { ETCD_VOLUME, patroniIssues, patroniSettings, postgresHaSchema, type PatroniSettings } from './patroni/topology.ts';

const SYNC_COMMIT = ['on', 'off', 'local', 'remote_write', 'remote_apply'] as const;
const BACKUP_TOOLS = ['pg_receivewal', 'pgbackrest', INCREMENTAL_TOOL, 'archive_command', 'barman'] as const;
export const ARCHIVE_MOUNT_KINDS = ['nfs-sync', 'nfs-async', 'local'] as const;
export type ArchiveMountKind = (typeof ARCHIVE_MOUNT_KINDS)[number];

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
  name: nodeFields.name.meta({ description: 'Host name on the cluster network, e.g. `pg-primary`. Lower case letters, digits and dashes.' }),
  role: roleField(
    '`primary` accepts writes; `replica` streams from the primary (hot standby, its own replication slot); `archive` is the backup repository: it receives the WAL stream with `pg_receivewal` (its own slot) and holds base backups, on a volume of its own.',
  ),
  domain: nodeFields.domain,
  volumeSize: nodeFields.volumeSize,
  synchronous: z
    .boolean({ error: (i) => `'synchronous' must be true or false, got ${describe(i.input)}` })
    .optional()
    .meta({ description: 'Replica or archive only: the primary waits for it to flush commits (`synchronous_standby_names`).' }),
  settings: settingsSchema,
});

const postgresSchema = strictObject({
  version: z
    .number({ error: (i) => `PostgreSQL version ${describe(i.input)} is not supported: use ${supportedPostgresText()}` })
    .refine((v) => POSTGRES_VERSIONS.includes(v), { error: (i) => `PostgreSQL version ${describe(i.input)} cannot be built here: use ${supportedPostgresText()}` })
    .optional()
    .meta({ description: `PostgreSQL major version in the node image: 15 (Debian 12), 17 (Debian 13) or 18 (Debian testing), from Debian's archive; 16 only from an apt source you give (untested). Default ${DEFAULT_POSTGRES}.` }),
  nodes: z
    .array(nodeSchema, { error: `'postgres.nodes' must list the nodes, at least a primary, e.g. [{"name": "pg-primary", "role": "primary", "domain": "san-a"}]` })
    .min(1, { error: `'postgres.nodes' must list at least a primary, e.g. [{"name": "pg-primary", "role": "primary", "domain": "san-a"}]` }),
  synchronousCommit: z
    .enum(SYNC_COMMIT, { error: (i) => `'synchronousCommit' ${describe(i.input)} is not valid: use one of ${SYNC_COMMIT.join(', ')}` })
    .optional()
    .meta({ description: '`synchronous_commit` on the primary. Default `on`.' }),
  backupTool: z
    .enum(BACKUP_TOOLS, { error: (i) => `'backupTool' ${describe(i.input)} is not supported: use ${BACKUP_TOOLS.map((t) => `'${t}'`).join(', ')}` })
    .optional()
    .meta({
      description:
        `How the archive node backs up: \`pg_receivewal\` (streamed WAL, base backups by pg_basebackup; the default), \`pgbackrest\` (archive_command to a pgBackRest repository over TLS) \`${INCREMENTAL_TOOL}\` (PostgreSQL 17 or later: WAL streamed as with pg_receivewal, a full pg_basebackup at \`freshBackupAt\` then \`pg_basebackup --incremental\` ones at \`incrementalAfter\`, with \`summarize_wal = on\`; a restore combines the chain with pg_combinebackup and replays the archive), \`archive_command\` (the user's own archive_command or archive_library from \`settings\`, run as written on every server, its destination made real on the archive node: an SSH server for \`host:path\`, a mount of the archive node's volume for a local path, see \`archiveMounts\` and \`archiveScripts\`; base backups by pg_basebackup) or \`barman\` (a Barman server on the archive node: \`barman backup\`, \`barman recover\`, WAL by its streaming archiver and/or barman-wal-archive; see \`barman\`).`,
    }),
  incrementalAfter: incrementalAfterSchema,
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
  ha: postgresHaSchema,
  pgbackrest: pgbackrestSchema,
  archiveMounts: z
    .record(z.string().regex(/^\/[^\0]*$/, { error: 'an archive mount is an absolute path, e.g. /mnt/server/archivedir' }), z.enum(ARCHIVE_MOUNT_KINDS, { error: (i) => `archive mount kind ${describe(i.input)} is not known: use ${ARCHIVE_MOUNT_KINDS.join(', ')}` }))
    .optional()
    .meta({
      description:
        "With backupTool `archive_command`: the local paths archive_command copies into, and what each is in the user's world: `nfs-sync` (an NFS mount exported `sync`: a file's data is committed when it is closed; the default), `nfs-async` (exported `async`, or an sshfs-like mount: nothing is committed until fsynced) or `local` (a directory on the server's own disk). nfs-* paths are mounts of the archive node's volume.",
    }),
  archiveScripts: z
    .record(z.string().regex(/^\/[^\0]*$/, { error: 'a script path is absolute, as archive_command names it' }), z.string())
    .optional()
    .meta({ description: 'With backupTool `archive_command`: scripts archive_command (or restore_command) runs, by the path the command names, each with its text; installed read-only on every server and run as written.' }),
  barman: strictObject({
    conf: z.string().optional().meta({ description: "The text of the user's barman.conf ([barman] section); site paths are mapped to the archive node's volume." }),
    server: z.string().optional().meta({ description: "The text of the user's server file (one [server] section): its conninfo hosts and ssh_command are mapped to the cluster's nodes." }),
  })
    .optional()
    .meta({ description: 'With backupTool `barman`: the user\'s Barman configuration. Without it, a streaming Barman server (backup_method postgres, streaming_archiver on).' }),
}).meta({ description: 'A PostgreSQL cluster. A topology has `postgres` or `redis`.' });

type PostgresSection = z.output<typeof postgresSchema>;

/** A PostgreSQL topology as users write it. */
export type PostgresTopologySpec = { domains: string[]; postgres: z.input<typeof postgresSchema>; redis?: undefined };
/** One PostgreSQL node: a container whose data (or, for `archive`, the WAL archive) is on its own volume. */
export type PostgresNodeSpec = PostgresTopologySpec['postgres']['nodes'][number];
export type PostgresRole = NodeRole;
export type SynchronousCommit = (typeof SYNC_COMMIT)[number];
export type BackupTool = (typeof BACKUP_TOOLS)[number];

export interface PostgresTopology extends Topology {
  engine: 'postgres';
  nodes: PostgresNode[];
  postgres: {
    version: number;
    synchronousCommit: SynchronousCommit;
    /** The value for `synchronous_standby_names`, empty when nothing is synchronous. */
    synchronousStandbyNames: string;
    /**
     * How WAL reaches the archive: streamed (pg_receivewal, also under incremental backups), pushed to
     * pgBackRest, the user's own archive_command, or Barman.
     */
    backupTool: 'pg_receivewal' | 'pgbackrest' | 'archive_command' | 'barman';
    /** backupTool 'archive_command': what each local path the command copies into is (see the schema). */
    archiveMounts: Record<string, ArchiveMountKind>;
    /** backupTool 'archive_command': the scripts the commands run, by path, with their text. */
    archiveScripts: Record<string, string>;
    /** backupTool 'barman': the user's barman.conf and server file, as text. */
    barman: { conf?: string; server?: string };
    /** backupTool 'pg_basebackup-incremental': the full backup is followed by incrementals at these times after it (ms), and restores combine the chain. */
    incremental: { afterMs: number[] } | undefined;
    archiveTimeout: string;
    /** How WAL reaches a pg_receivewal archive: streamed, or not at all (base backups only). */
    archiveWal: 'stream' | 'none';
    nodes: PostgresNode[];
    /** The user's settings and pgBackRest options as the cluster runs them, and what was mapped. */
    applied: AppliedSettings;
    /** The cluster's own HA manager (Patroni), with its settings; without it faultline fails over. */
    ha?: PatroniSettings;
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

export const postgresTopologySection: TopologySection<PostgresTopology> = {
  engine: 'postgres',
  serverName: 'PostgreSQL',
  examplePrimary: 'pg-primary',
  schema: postgresSchema,
  nodesOf: (section) => (section as PostgresSection).nodes,
  pinVersion: (section, pins) => (pins.postgres === undefined || typeof section !== 'object' || section === null ? section : { ...section, version: pins.postgres }),
  refine(raw, issue) {
    const postgres = raw as PostgresSection;
    const archives = postgres.nodes.filter((node) => node.role === 'archive');
    if (postgres.archiveWal === 'none' && postgres.backupTool === 'pgbackrest') {
      issue(['postgres', 'archiveWal'], `'archiveWal' 'none' applies to a pg_receivewal archive; pgBackRest's repository receives what archive_command pushes`);
    }
    for (const [path, message] of [...incrementalIssues(postgres, archives.length > 0), ...patroniIssues(postgres)]) issue(['postgres', ...path], message);
    if (postgres.archiveMounts && postgres.backupTool !== 'archive_command') issue(['postgres', 'archiveMounts'], `'archiveMounts' needs backupTool 'archive_command' (the topology's is '${postgres.backupTool ?? 'pg_receivewal'}')`);
    if (postgres.archiveScripts && postgres.backupTool !== 'archive_command' && postgres.backupTool !== 'barman') issue(['postgres', 'archiveScripts'], `'archiveScripts' needs backupTool 'archive_command' or 'barman' (the topology's is '${postgres.backupTool ?? 'pg_receivewal'}')`);
    if (postgres.barman && postgres.backupTool !== 'barman') issue(['postgres', 'barman'], `'barman' needs backupTool 'barman' (the topology's is '${postgres.backupTool ?? 'pg_receivewal'}')`);
    if (postgres.barman && postgres.backupTool === 'barman') {
      const command = postgres.settings?.['archive_command'];
      const pushed = walArchiveOf(typeof command === 'object' ? String(command.value) : command === undefined ? undefined : String(command)) !== undefined;
      for (const why of barmanConfIssues(postgres.barman, pushed)) issue(['postgres', 'barman'], why);
    }
    if ((postgres.backupTool === 'archive_command' || postgres.backupTool === 'barman') && archives.length === 0) {
      issue(['postgres', 'backupTool'], `'backupTool' is '${postgres.backupTool}' but no node has role 'archive' to be the backup host: add one, e.g. {"name": "pg-archive", "role": "archive", "domain": "backup-site"}`);
    }
    if (postgres.backupTool === 'archive_command' && archives[0]?.synchronous) {
      issue(['postgres', 'nodes', postgres.nodes.indexOf(archives[0]), 'synchronous'], `Node '${archives[0].name}' cannot be synchronous with archive_command: it receives WAL by archive_command, not by streaming`);
    }
    if (postgres.backupTool === 'pgbackrest') {
      if (archives.length === 0) issue(['postgres', 'backupTool'], `'backupTool' is 'pgbackrest' but no node has role 'archive' to hold the repository`);
      if (archives[0]?.synchronous) {
        issue(['postgres', 'nodes', postgres.nodes.indexOf(archives[0]), 'synchronous'], `Node '${archives[0].name}' cannot be synchronous with pgbackrest: it receives WAL by archive_command, not by streaming`);
      }
    }
  },
  build: (domains, section, where) => postgresTopology(domains, section as PostgresSection, where),
};

/** Like the registry's validateTopology, for code that runs PostgreSQL only: another engine's topology is a ConfigError. */
export function validatePostgresTopology(spec: unknown, where = 'topology'): PostgresTopology {
  if (typeof spec === 'object' && spec !== null && !Array.isArray(spec) && !('postgres' in spec) && !('engine' in spec)) {
    // Another engine's section (not a typo of 'postgres', which the schema names with a suggestion).
    const other = Object.keys(spec).find((key) => key !== 'domains' && !didYouMean(key, ['postgres']));
    if (other) throw new ConfigError(`${where}: this needs a PostgreSQL topology ('postgres' with its nodes), got a ${other} one`);
  }
  const topology = validateTopologyWith([postgresTopologySection], spec, where);
  if (topology.engine !== 'postgres') throw new ConfigError(`${where}: this needs a PostgreSQL topology ('postgres' with its nodes), got a ${topology.engine} one`);
  return topology as PostgresTopology;
}

function postgresTopology(domains: string[], postgres: PostgresSection, where: string): PostgresTopology {
  const nodes = postgres.nodes.map((n) => ({
    name: n.name,
    role: n.role,
    domain: n.domain,
    volumeBytes: volumeBytesOf(n),
    synchronous: n.synchronous === true,
    settings: userSettings(n.settings, `${where}, postgres.nodes '${n.name}' settings`),
    // A Patroni member's etcd keeps its data on a volume of its own, in the member's failure domain.
    ...(postgres.ha && n.role !== 'archive' ? { volumes: [ETCD_VOLUME.name] } : {}),
  }));
  // Incremental backups stream WAL to the archive as pg_receivewal does: only the base backups differ.
  const backupTool = postgres.backupTool === INCREMENTAL_TOOL || postgres.backupTool === undefined ? 'pg_receivewal' : postgres.backupTool;
  const incremental = postgres.backupTool === INCREMENTAL_TOOL ? { afterMs: incrementalAfterMs(postgres.incrementalAfter) } : undefined;
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
    archiveScripts: postgres.archiveScripts ?? {},
  }));
  const synchronous = nodes.filter((node) => node.synchronous).map((node) => `"${node.name}"`);
  return {
    engine: 'postgres',
    domains,
    nodes,
    postgres: {
      version: postgres.version ?? DEFAULT_POSTGRES,
      synchronousCommit: postgres.synchronousCommit ?? 'on',
      synchronousStandbyNames: synchronous.length > 0 ? `ANY 1 (${synchronous.join(', ')})` : '',
      backupTool,
      incremental,
      archiveTimeout: postgres.archiveTimeout ?? '60s',
      archiveWal: postgres.archiveWal ?? 'stream',
      archiveMounts: postgres.archiveMounts ?? {},
      archiveScripts: postgres.archiveScripts ?? {},
      barman: { ...(postgres.barman?.conf !== undefined ? { conf: postgres.barman.conf } : {}), ...(postgres.barman?.server !== undefined ? { server: postgres.barman.server } : {}) },
      nodes,
      applied,
      ...(postgres.ha ? { ha: patroniSettings(postgres.ha) } : {}),
    },
  };
}

/** Settings as written (a value, or a value with its source), in order, with their sources. */
function userSettings(settings: Record<string, z.infer<typeof settingValue>> | undefined, where: string): UserSetting[] {
  return Object.entries(settings ?? {}).map(([name, raw]) => {
    const { value, source } = typeof raw === 'object' ? raw : { value: raw, source: `${where}.${name}` };
    return { name: name.toLowerCase(), value: typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value), source };
  });
}
