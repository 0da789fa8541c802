// A running PostgreSQL node of a cluster: its container, its volumes, and the commands the harness
// runs in it. Every command returns a record (command, exit code, output, duration) so that later
// stages can put it in the history instead of letting it vanish.

import type { StartedTestContainer } from 'testcontainers';
import pg, { type ClientConfig } from 'pg';
import { ClusterError } from '../../errors.ts';
import type { PostgresNode } from './topology.ts';
import type { StartedNode } from '../../cluster/docker/docker-run.ts';
import { execInNode, succeeded, type ExecOptions } from '../../cluster/node-exec.ts';
import { killAllCommand } from '../../cluster/kill.ts';
import { VOLUME_MOUNT, type ClusterNode, type ExecRecord } from '../../cluster/engine.ts';
import type { NodeLogs } from '../../cluster/docker/logs.ts';

export { VOLUME_MOUNT, type ExecRecord };

export const PG_PORT = 5432;
export const PGDATA = `${VOLUME_MOUNT}/pgdata`;
export const REPO = VOLUME_MOUNT;
/** Where the repository keeps base backups made with pg_basebackup (full and incremental ones). */
export const BASE = `${REPO}/base`;

/**
 * The logs a PostgreSQL node keeps (image/fl-pg): in /var/log/faultline the server's
 * (postgresql.log), pg_receivewal's and the pgBackRest TLS server's; pgBackRest's own log-path; and
 * what pg_receivewal said when it could not create its slot. Notable: what ends a session or the
 * server (but the routine), and what makes pg_receivewal or pgBackRest fail.
 */
export const POSTGRES_LOGS: NodeLogs = {
  sources: [{ path: '/var/log/faultline' }, { path: '/var/log/pgbackrest', into: 'pgbackrest' }, { path: '/tmp/receivewal.log' }],
  notable: /\b(PANIC|FATAL):|pg_receivewal: error:|\bERROR: \[\d+\]:|^fl-pg: /,
  // Sessions ended by a shutdown or refused while the server starts or stops, and the replicas'
  // logins refused until they replay the primary's password (start-cluster waits through them).
  routine: /FATAL: +(terminating connection due to administrator command|the database system is (starting up|shutting down|not yet accepting connections|in recovery mode)|password authentication failed for user "postgres")/,
};

/**
 * Runs `work` with a client connected to the node over its mapped port: for reading data (rows,
 * files through pg_read_file) as values, rather than parsing what psql printed through `exec`.
 */
export async function withClient<T>(node: PostgresNodeHandle, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectClient(node);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A client connected to the node over its mapped port; the caller ends it. */
export async function connectClient(node: PostgresNodeHandle): Promise<pg.Client> {
  const client = new pg.Client({ ...node.clientConfig(), connectionTimeoutMillis: 5000, query_timeout: 60_000 });
  client.on('error', () => {});
  await client.connect();
  return client;
}

export class PostgresNodeHandle implements ClusterNode {
  readonly owner = 'postgres:postgres';
  readonly serverName = 'PostgreSQL';
  readonly serverProcess = 'postgres';
  readonly spec: PostgresNode;
  readonly container: StartedTestContainer;
  readonly volume: StartedNode['luns'][number];
  readonly luns: StartedNode['luns'];
  private readonly password: string;

  constructor(started: StartedNode, spec: PostgresNode, password: string) {
    const volume = started.luns[0];
    if (!volume) throw new ClusterError(`Node '${spec.name}' started without a volume`);
    this.spec = spec;
    this.container = started.container;
    this.volume = volume;
    this.luns = started.luns;
    this.password = password;
    this.role = spec.role;
  }

  /** Set when the node's volume or whole domain was destroyed: it cannot come back. */
  lost = false;
  /** Its role now: a replica becomes 'primary' when promoted; a primary that was failed over is 'retired'. */
  role: PostgresNode['role'] | 'retired';

  get name(): string {
    return this.spec.name;
  }

  /** Whether a PostgreSQL server runs on this node's data directory. */
  async serverRunning(): Promise<boolean> {
    return (await this.exec(['pg_ctl', 'status', '-D', PGDATA])).exitCode === 0;
  }

  /**
   * recovery_init_sync_method = syncfs (PostgreSQL 14 and later): at the start of crash recovery the
   * server makes its data directory durable with syncfs, which never reaches faultfs, so faultfs
   * may later drop what a disk would have kept.
   */
  async durabilityCaveat(): Promise<string | undefined> {
    const shown = await this.psql('SHOW recovery_init_sync_method').catch(() => undefined);
    if (shown?.trim() !== 'syncfs') return undefined;
    return `${this.name} runs with recovery_init_sync_method = syncfs, and a syncfs never reaches faultfs, so after a crash recovery it may drop data a real disk would have kept`;
  }

  /**
   * 'patroni' when Patroni owns the server: starting it means starting Patroni, which starts it,
   * after the node's etcd member (a power loss killed both: they come back as at boot).
   */
  supervisor?: 'patroni';

  /**
   * Under Patroni: starts the node's etcd member and Patroni if they are not running (a power loss
   * killed them, an etcd member ended on a full disk); returns what it started ('its etcd member').
   */
  async startCompanions(): Promise<string[]> {
    if (this.supervisor !== 'patroni') return [];
    const etcd = await this.run(['fl-patroni', 'etcd']);
    const patroni = await this.run(['fl-patroni', 'start']);
    return [etcd.stdout, patroni.stdout].map((s) => s.trim()).filter(Boolean);
  }

  /** Starts the server (after a crash this is crash recovery); fails with the server log's tail. */
  async startServer(): Promise<ExecRecord> {
    if (this.supervisor === 'patroni') {
      await this.startCompanions();
      return this.run(['fl-patroni', 'wait-server']);
    }
    return this.run(['fl-pg', 'start']);
  }

  async stopServer(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<ExecRecord> {
    return this.run(['fl-pg', 'stop', mode]);
  }

  /** SIGKILL to every PostgreSQL process of the node (a host crash, as the server sees it), once they are gone. */
  async killServer(): Promise<ExecRecord> {
    return this.exec(killAllCommand('postgres'), { user: 'root' });
  }

  /** Runs a command in the node (as `postgres` unless told otherwise) and returns its record. */
  exec(command: string[], options: ExecOptions = {}): Promise<ExecRecord> {
    return execInNode(this.name, this.container, command, options, { user: 'postgres', env: { PGDATA, HOME: '/var/lib/postgresql', FL_PASSWORD: this.password } });
  }

  /** Like exec, but a non-zero exit is a ClusterError that quotes the command's stderr. */
  async run(command: string[], options: ExecOptions = {}): Promise<ExecRecord> {
    return succeeded(await this.exec(command, options));
  }

  /** Runs SQL through psql on the node's local socket; returns unaligned, tuples-only output. */
  async psql(sql: string, database = 'postgres'): Promise<string> {
    const record = await this.run(['psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', sql]);
    return record.stdout.trim();
  }

  /** How this node, as a primary, sees a follower (by application_name): 'streaming', 'catchup', … or 'not connected'. */
  async replicationState(follower: string): Promise<string> {
    return this.psql(`SELECT coalesce((SELECT state FROM pg_stat_replication WHERE application_name = '${follower}' LIMIT 1), 'not connected')`);
  }

  /** Host and port to reach this node from the machine running faultline (re-read after restarts). */
  endpoint(): { host: string; port: number } {
    return { host: this.container.getHost(), port: this.container.getMappedPort(PG_PORT) };
  }

  url(): string {
    const { host, port } = this.endpoint();
    return `postgresql://postgres:${this.password}@${host}:${port}/postgres`;
  }

  /** A `pg` client configuration for this node, from the machine running faultline. */
  clientConfig(database = 'postgres'): ClientConfig {
    const { host, port } = this.endpoint();
    return { host, port, user: 'postgres', password: this.password, database, application_name: 'faultline' };
  }
}

/** The PostgreSQL node behind a ClusterNode; a node of another engine is an error. */
export function asPostgresNode(node: ClusterNode): PostgresNodeHandle {
  if (!(node instanceof PostgresNodeHandle)) throw new ClusterError(`the PostgreSQL engine was given node '${node.name}' of another engine`);
  return node;
}
