// The topology of a cluster as plain data: which nodes exist, their roles, and the failure domain
// each node's volume lives in. The Sidekick mistake is a topology whose primary data and backups
// share one domain; this module makes that placement explicit and checks it before anything starts.

import { ConfigError } from '../errors.ts';
import { formatBytes, parseSize } from '../units.ts';

export type PostgresRole = 'primary' | 'replica' | 'archive';

/** One PostgreSQL node: a container whose data (or, for `archive`, the WAL archive) is on its own volume. */
export interface PostgresNodeSpec {
  /** Host name on the cluster network, e.g. `pg-primary`. Lower case letters, digits and dashes. */
  name: string;
  /**
   * `primary` accepts writes; `replica` streams from the primary (hot standby, its own replication
   * slot); `archive` is the backup repository: it receives the WAL stream with `pg_receivewal`
   * (its own slot) and holds base backups, on a volume of its own.
   */
  role: PostgresRole;
  /** The failure domain (SAN, rack, site) its volume lives in. Must be one of `domains`. */
  domain: string;
  /** Size of the node's volume, e.g. `512M`. At least 64 MiB. Default 512 MiB (sparse). */
  volumeSize?: string | number;
  /** Replica or archive only: the primary waits for it to flush commits (`synchronous_standby_names`). */
  synchronous?: boolean;
}

export type SynchronousCommit = 'on' | 'off' | 'local' | 'remote_write' | 'remote_apply';

export interface TopologySpec {
  /** Failure domains that exist in this cluster, e.g. `['san-a', 'san-b', 'backup-site']`. */
  domains: string[];
  postgres: {
    /** PostgreSQL major version installed in the node image (Debian's packages). Default 15. */
    version?: number;
    nodes: PostgresNodeSpec[];
    /** `synchronous_commit` on the primary. Default `on`. */
    synchronousCommit?: SynchronousCommit;
    /**
     * How the archive node backs up: `pg_receivewal` (streamed WAL, base backups by pg_basebackup;
     * the default) or `pgbackrest` (archive_command to a pgBackRest repository over TLS).
     */
    backupTool?: BackupTool;
    /** With pgbackrest: `archive_timeout`, the longest a WAL segment waits to be archived. Default 60s. */
    archiveTimeout?: string;
  };
}

export type BackupTool = 'pg_receivewal' | 'pgbackrest';

/** A validated topology: every default filled in, every reference resolved. */
export interface Topology {
  domains: string[];
  postgres: {
    version: number;
    synchronousCommit: SynchronousCommit;
    /** The value for `synchronous_standby_names`, empty when nothing is synchronous. */
    synchronousStandbyNames: string;
    backupTool: BackupTool;
    archiveTimeout: string;
    nodes: PostgresNode[];
  };
}

export interface PostgresNode {
  name: string;
  role: PostgresRole;
  domain: string;
  volumeBytes: number;
  synchronous: boolean;
}

export const MIN_POSTGRES_VOLUME_BYTES = 64 * 1024 ** 2;
export const DEFAULT_VOLUME_BYTES = 512 * 1024 ** 2;
const SUPPORTED_POSTGRES = [13, 14, 15, 16, 17];
const NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
const SYNC_COMMIT: SynchronousCommit[] = ['on', 'off', 'local', 'remote_write', 'remote_apply'];

/** The topology most drills start from: primary, replica and archive, each in a domain of its own. */
export const defaultTopology: TopologySpec = {
  domains: ['san-a', 'san-b', 'backup-site'],
  postgres: {
    nodes: [
      { name: 'pg-primary', role: 'primary', domain: 'san-a' },
      { name: 'pg-replica', role: 'replica', domain: 'san-b' },
      { name: 'pg-archive', role: 'archive', domain: 'backup-site' },
    ],
  },
};

/**
 * Checks a topology and fills in defaults. Throws a ConfigError that names the offending value and
 * how to fix it; `where` prefixes messages (e.g. the file the topology came from).
 */
export function validateTopology(spec: unknown, where = 'topology'): Topology {
  const fail = (message: string): never => {
    throw new ConfigError(`${where}: ${message}`);
  };
  if (!isObject(spec)) fail(`expected an object with 'domains' and 'postgres', got ${describe(spec)}`);
  const s = spec as Record<string, unknown>;

  if (!Array.isArray(s.domains) || s.domains.length === 0) {
    fail(`'domains' must list at least one failure domain, e.g. ["san-a", "backup-site"]; got ${describe(s.domains)}`);
  }
  const domains = s.domains as unknown[];
  for (const domain of domains) {
    if (typeof domain !== 'string' || !NAME.test(domain)) {
      fail(`Failure domain name ${describe(domain)} is not valid: use 2 to 32 lower case letters, digits and dashes, starting with a letter`);
    }
  }
  const duplicateDomain = domains.find((d, i) => domains.indexOf(d) !== i);
  if (duplicateDomain !== undefined) fail(`Failure domain '${String(duplicateDomain)}' is declared twice in 'domains'`);

  if (!isObject(s.postgres)) fail(`'postgres' must be an object with a 'nodes' list; got ${describe(s.postgres)}`);
  const pg = s.postgres as Record<string, unknown>;
  const version = pg.version ?? 15;
  if (typeof version !== 'number' || !SUPPORTED_POSTGRES.includes(version)) {
    fail(`PostgreSQL version ${describe(version)} is not supported: use one of ${SUPPORTED_POSTGRES.join(', ')}`);
  }
  const synchronousCommit = pg.synchronousCommit ?? 'on';
  if (typeof synchronousCommit !== 'string' || !SYNC_COMMIT.includes(synchronousCommit as SynchronousCommit)) {
    fail(`'synchronousCommit' ${describe(synchronousCommit)} is not valid: use one of ${SYNC_COMMIT.join(', ')}`);
  }
  if (!Array.isArray(pg.nodes) || pg.nodes.length === 0) {
    fail(`'postgres.nodes' must list at least a primary, e.g. [{"name": "pg-primary", "role": "primary", "domain": "${String(domains[0])}"}]`);
  }

  const nodes: PostgresNode[] = (pg.nodes as unknown[]).map((raw, index) => {
    const at = `postgres.nodes[${index}]`;
    if (!isObject(raw)) return fail(`${at} must be an object, got ${describe(raw)}`);
    const n = raw as Record<string, unknown>;
    if (typeof n.name !== 'string' || !NAME.test(n.name)) {
      fail(`${at}: node name ${describe(n.name)} is not valid: use 2 to 32 lower case letters, digits and dashes, starting with a letter`);
    }
    const name = n.name as string;
    if (n.role !== 'primary' && n.role !== 'replica' && n.role !== 'archive') {
      fail(`Node '${name}' has role ${describe(n.role)}: use 'primary', 'replica' or 'archive'`);
    }
    if (typeof n.domain !== 'string' || !domains.includes(n.domain)) {
      fail(
        `Node '${name}' is placed in failure domain ${describe(n.domain)}, which the topology does not declare ` +
          `(declared: ${domains.join(', ')}): add it to 'domains' or place the node in a declared one`,
      );
    }
    const volumeBytes = n.volumeSize === undefined ? DEFAULT_VOLUME_BYTES : parseSize(n.volumeSize as string | number);
    if (volumeBytes === undefined) {
      fail(`Node '${name}': volume size ${describe(n.volumeSize)} is not a size: write it like '512M' or '1G'`);
    } else if (volumeBytes < MIN_POSTGRES_VOLUME_BYTES) {
      fail(
        `Volume size must be at least ${formatBytes(MIN_POSTGRES_VOLUME_BYTES)} for PostgreSQL: got ${describe(n.volumeSize)} ` +
          `on node '${name}'`,
      );
    }
    if (n.synchronous !== undefined && typeof n.synchronous !== 'boolean') {
      fail(`Node '${name}': 'synchronous' must be true or false, got ${describe(n.synchronous)}`);
    }
    if (n.synchronous === true && n.role === 'primary') {
      fail(`Node '${name}' is the primary and cannot be 'synchronous': mark its replicas or archive instead`);
    }
    return { name, role: n.role as PostgresRole, domain: n.domain as string, volumeBytes: volumeBytes as number, synchronous: n.synchronous === true };
  });

  const duplicateNode = nodes.find((node, i) => nodes.findIndex((other) => other.name === node.name) !== i);
  if (duplicateNode) fail(`Node name '${duplicateNode.name}' is used twice: node names must be unique`);
  const primaries = nodes.filter((node) => node.role === 'primary');
  if (primaries.length === 0) {
    const follower = nodes.find((node) => node.role !== 'primary');
    fail(
      `Node '${follower?.name}' is a ${follower?.role} without a primary to follow: add a node with role 'primary'`,
    );
  }
  if (primaries.length > 1) fail(`Only one primary is allowed, found ${primaries.map((p) => `'${p.name}'`).join(' and ')}`);
  const archives = nodes.filter((node) => node.role === 'archive');
  if (archives.length > 1) fail(`Only one archive node is supported, found ${archives.map((a) => `'${a.name}'`).join(' and ')}`);

  const backupTool = pg.backupTool ?? 'pg_receivewal';
  if (backupTool !== 'pg_receivewal' && backupTool !== 'pgbackrest') {
    fail(`'backupTool' ${describe(backupTool)} is not supported: use 'pg_receivewal' or 'pgbackrest'`);
  }
  const archiveTimeout = pg.archiveTimeout ?? '60s';
  if (typeof archiveTimeout !== 'string' || !/^\d+(ms|s|min)?$/.test(archiveTimeout)) {
    fail(`'archiveTimeout' ${describe(archiveTimeout)} is not a PostgreSQL duration: write it like '1s' or '60s'`);
  }
  if (backupTool === 'pgbackrest' && archives.length === 0) fail(`'backupTool' is 'pgbackrest' but no node has role 'archive' to hold the repository`);
  const archiveNode = archives[0];
  if (backupTool === 'pgbackrest' && archiveNode?.synchronous) {
    fail(`Node '${archiveNode.name}' cannot be synchronous with pgbackrest: it receives WAL by archive_command, not by streaming`);
  }
  const synchronous = nodes.filter((node) => node.synchronous).map((node) => `"${node.name}"`);
  return {
    domains: domains as string[],
    postgres: {
      version: version as number,
      synchronousCommit: synchronousCommit as SynchronousCommit,
      synchronousStandbyNames: synchronous.length > 0 ? `ANY 1 (${synchronous.join(', ')})` : '',
      backupTool: backupTool as BackupTool,
      archiveTimeout: archiveTimeout as string,
      nodes,
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  return JSON.stringify(value);
}
