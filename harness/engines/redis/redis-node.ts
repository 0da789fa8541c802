// A running Redis (or Valkey) node: its container, its volume (the data directory: AOF directory and
// RDB file; on the backup node, the RDB copies), and the commands the harness runs in it.

import { networkInterfaces } from 'node:os';
import type { StartedTestContainer } from 'testcontainers';
import { Redis } from 'ioredis';
import { ClusterError } from '../../errors.ts';
import type { StartedNode } from '../../cluster/docker/docker-run.ts';
import { execInNode, succeeded, type ExecOptions } from '../../cluster/node-exec.ts';
import { killAllCommand } from '../../cluster/kill.ts';
import { VOLUME_MOUNT, type ClusterNode, type ExecRecord, type NodeSpec } from '../../cluster/engine.ts';
import type { RedisTopology } from './topology.ts';
import type { NodeLogs } from '../../cluster/docker/logs.ts';

export const REDIS_PORT = 6379;
export const REDIS_DATA = VOLUME_MOUNT;
/** Where the backup node keeps its RDB copies. */
export const BACKUPS = `${VOLUME_MOUNT}/backups`;
export const AOF_DIR = `${REDIS_DATA}/appendonlydir`;
export const RDB_FILE = `${REDIS_DATA}/dump.rdb`;

/**
 * The logs a Redis or Valkey node keeps (image/fl-redis): in /var/log/faultline the server's
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
  readonly luns: StartedNode['luns'];
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
    this.luns = started.luns;
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

  /** Where clients on the machine running faultline reach the server (see containerEndpoint). */
  endpoint(): { host: string; port: number } {
    return containerEndpoint(this.container, REDIS_PORT);
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

  exec(command: string[], options: ExecOptions = {}): Promise<ExecRecord> {
    return execInNode(this.name, this.container, command, options, { user: 'redis', env: { HOME: '/tmp' } });
  }

  async run(command: string[], options: ExecOptions = {}): Promise<ExecRecord> {
    return succeeded(await this.exec(command, options));
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

/**
 * Where the machine running faultline reaches `port` of a container. On a local Docker engine: the
 * container's own address on its network, straight over the bridge, for the mapped host port may go
 * through docker-proxy, a userland copy of every byte that adds to each round trip (and takes CPU
 * the clients need). The mapped port otherwise: when DOCKER_HOST names an engine on another machine,
 * and wherever the container's network is not one this machine is on (Docker Desktop's VM, rootless
 * Docker's namespace, faultline itself in a container).
 */
export function containerEndpoint(container: StartedTestContainer, port: number): { host: string; port: number } {
  const ip = directAddress(container);
  return ip ? { host: ip, port } : { host: container.getHost(), port: container.getMappedPort(port) };
}

/** A container's address, once found reachable (it keeps it while it lives). */
const direct = new WeakMap<StartedTestContainer, string>();

function directAddress(container: StartedTestContainer): string | null {
  if (remoteEngine(process.env.DOCKER_HOST) || process.env.TESTCONTAINERS_HOST_OVERRIDE) return null;
  // Not found is not remembered: a bridge with no running container attached is down, and this
  // machine's interface list leaves it out until one is.
  let ip = direct.get(container) ?? null;
  if (ip === null) {
    ip = reachableAddress(container);
    if (ip !== null) direct.set(container, ip);
  }
  return ip;
}

/** Whether DOCKER_HOST names an engine on another machine (tcp://, ssh:// to a host that is not this one). */
export function remoteEngine(dockerHost: string | undefined): boolean {
  if (!dockerHost || /^(unix|npipe):/.test(dockerHost)) return false;
  let host: string;
  try {
    host = new URL(dockerHost).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return true;
  }
  return !(host === 'localhost' || host === '::1' || /^127\./.test(host));
}

/** The container's IPv4 address on its first network, if an interface of this machine is on that subnet. */
function reachableAddress(container: StartedTestContainer): string | null {
  const [network] = container.getNetworkNames();
  const ip = network ? container.getIpAddress(network) : '';
  const target = ipv4(ip);
  if (target === null) return null;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      const [address, mask] = [ipv4(a.address), ipv4(a.netmask)];
      if (address !== null && mask !== null && mask !== 0 && ((address & mask) >>> 0) === ((target & mask) >>> 0)) return ip;
    }
  }
  return null;
}

function ipv4(text: string | undefined): number | null {
  const parts = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text ?? '');
  if (!parts) return null;
  return parts.slice(1).reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}
