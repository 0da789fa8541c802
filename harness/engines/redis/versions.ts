// The Redis and Valkey versions faultline builds node images for, and the Debian suite that has
// each: Redis 7.0 (bookworm), Redis 8.0 and Valkey 8.1 (trixie), Valkey 9 (forky).

import type { DebianSuite } from '../../cluster/docker/image.ts';

export type RedisServer = 'redis' | 'valkey';

export const REDIS_BUILDS: Readonly<Record<RedisServer, Readonly<Record<number, DebianSuite>>>> = {
  redis: { 7: 'bookworm', 8: 'trixie' },
  valkey: { 8: 'trixie', 9: 'forky' },
};

/** Debian stable's (trixie) versions: what a topology without `redis.version` runs. */
export const DEFAULT_REDIS_VERSION: Readonly<Record<RedisServer, number>> = { redis: 8, valkey: 8 };

export function redisVersions(server: RedisServer): number[] {
  return Object.keys(REDIS_BUILDS[server]).map(Number);
}

/** WAITAOF came in Redis 7.2 (Valkey has it from its first release, 7.2.4). */
export function hasWaitAof(server: RedisServer, version: number): boolean {
  return server === 'valkey' || version >= 8;
}

export function serverLabel(server: RedisServer, version: number): string {
  return `${server === 'valkey' ? 'Valkey' : 'Redis'} ${version}`;
}
