// A running Redis (or Valkey) node: its container, its volume (the data directory: AOF directory and
// RDB file; on the backup node, the RDB copies), and the commands the harness runs in it.

import type { StartedTestContainer } from 'testcontainers';
import { Redis } from 'ioredis';
import { ClusterError } from '../../errors.ts';
import type { StartedNode } from '../../cluster/docker/docker-run.ts';
import { CommandTimeout, runInContainer } from '../../cluster/docker/agent.ts';
import { killAllCommand } from '../../cluster/kill.ts';
import { VOLUME_MOUNT, type ClusterNode, type ExecRecord, type NodeSpec } from '../../cluster/engine.ts';
import type { RedisTopology } from '../../cluster/topology.ts';
import type { NodeLogs } from '../../cluster/docker/logs.ts';

export const REDIS_PORT = 6379;
export const REDIS_DATA = VOLUME_MOUNT;
/** Where the backup node keeps its RDB copies. */
export const BACKUPS = `${VOLUME_MOUNT}/backups`;
export const AOF_DIR = `${REDIS_DATA}/appendonlydir`;
export const RDB_FILE = `${REDIS_DATA}/dump.rdb`;

/**
 * The logs a Redis or Valkey node keeps (docker/node/fl-redis): in /var/log/faultline the server's
 * (redis.log) and the backup loop's (backup.log), and the last RDB copy's and check's output.
 * Notable: the server's warnings (level `#`) and what fl-redis gave up on.
 */
export const REDIS_LOGS: NodeLogs = {
  sources: [{ path: '/var/log/faultline' }, { path: '/tmp/faultline-backup.log' }, { path: '/tmp/faultline-check.log' }],
  notable: /^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ # |^fl-redis: /,
};

export class RedisNodeHandle implements ClusterNode {
  readonly spec: NodeSpec;
  readonly container: StartedTestContainer;
  readonly volume: StartedNode['luns'][number];
  readonly owner = 'redis:redis';
  readonly serverName: string;
  readonly serverProcess: string;
  /** The command-line tools' prefix: `redis` or `valkey` (redis-cli, valkey-check-aof, …). */
  readonly server: RedisTopology['redis']['server'];
  role: NodeSpec['role'] | 'retired';
  lost = false;

  constructor(started: StartedNode, spec: NodeSpec, server: RedisTopology['redis']['server']) {
    const volume = started.luns[0];
    if (!volume) throw new ClusterError(`Node '${spec.name}' started without a volume`);
    this.spec = spec;
    this.container = started.container;
    this.volume = volume;
    this.server = server;
    this.serverName = server === 'valkey' ? 'Valkey' : 'Redis';
    this.serverProcess = `${server}-server`;
    this.role = spec.role;
  }

  get name(): string {
    return this.spec.name;
  }

  /** The backup node runs no server. */
  get runsServer(): boolean {
    return this.spec.role !== 'archive';
  }

  endpoint(): { host: string; port: number } {
    return { host: this.container.getHost(), port: this.container.getMappedPort(REDIS_PORT) };
  }

  url(): string {
    if (!this.runsServer) return '';
    const { host, port } = this.endpoint();
    return `redis://${host}:${port}`;
  }

  async serverRunning(): Promise<boolean> {
    return (await this.exec(['pgrep', '-x', this.serverProcess])).exitCode === 0;
  }

  startServer(): Promise<ExecRecord> {
    return this.run(['fl-redis', 'start']);
  }

  stopServer(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<ExecRecord> {
    return this.run(['fl-redis', 'stop', mode]);
  }

  /** SIGKILL to the server (a host crash, as it sees it), once it is gone. */
  killServer(): Promise<ExecRecord> {
    return this.exec(killAllCommand(this.serverProcess), { user: 'root' });
  }

  async exec(command: string[], options: { user?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ExecRecord> {
    const started = performance.now();
    const result = await runInContainer(this.container, command, { user: options.user ?? 'redis', env: { HOME: '/tmp', ...options.env }, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) }).catch(
      (error: unknown) => {
        throw error instanceof CommandTimeout ? new ClusterError(`${error.message} on node '${this.name}'`, { cause: error }) : error;
      },
    );
    return { node: this.name, command, exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, durationMs: Math.round(performance.now() - started) };
  }

  async run(command: string[], options: { user?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ExecRecord> {
    const record = await this.exec(command, options);
    if (record.exitCode !== 0) {
      throw new ClusterError(`'${command.join(' ')}' failed on node '${this.name}' (exit ${record.exitCode}): ${(record.stderr || record.stdout).trim()}`);
    }
    return record;
  }

  /** A command through the server's own CLI inside the node; returns its output (errors come back as text). */
  async cli(...args: string[]): Promise<string> {
    return (await this.run([`${this.server}-cli`, '-p', String(REDIS_PORT), ...args])).stdout.trim();
  }

  /** `INFO <section>` as a map. */
  async info(section: string): Promise<Record<string, string>> {
    const text = await this.cli('INFO', section);
    return Object.fromEntries(text.split(/\r?\n/).filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
  }

  /** An ioredis client from the machine running faultline, that fails fast instead of queueing. */
  client(timeoutMs = 10_000): Redis {
    const { host, port } = this.endpoint();
    const client = new Redis({ host, port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000, commandTimeout: timeoutMs });
    client.on('error', () => {});
    return client;
  }
}

/** Runs `work` with a connected client of the node, and closes it. */
export async function withRedis<T>(node: RedisNodeHandle, work: (client: Redis) => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const client = node.client(timeoutMs);
  await client.connect();
  try {
    return await work(client);
  } finally {
    client.disconnect();
  }
}
