// Versions as pure logic: which Debian suite builds each server version, what a topology may name,
// how `faultline run --postgres N` (--redis N, --valkey N) pins a drill's topology, and the refusals.

import { describe, expect, it } from 'vitest';
import { versionPins } from '../../harness/cli/run.ts';
import { pinVersions, validateTopology } from '../../harness/engines/registry.ts';
import { DEFAULT_POSTGRES, postgresImageRecipe, TESTED_POSTGRES, type PostgresTopology } from '../../harness/engines/postgres/index.ts';
import { DEFAULT_REDIS_VERSION, hasWaitAof, redisImageRecipe, type RedisTopology } from '../../harness/engines/redis/index.ts';
import { defaultTopology } from '../../harness/engines/postgres/index.ts';
import { redisHealthy } from '../../experiments/redis.ts';

describe('server versions', () => {
  it('builds each version on the Debian suite that ships it, the defaults being Debian stable’s', () => {
    expect(DEFAULT_POSTGRES).toBe(17);
    expect(TESTED_POSTGRES).toEqual([15, 17, 18]);
    expect(TESTED_POSTGRES.map((v) => `${v} ${postgresImageRecipe(v).suite}`)).toEqual(['15 bookworm', '17 trixie', '18 forky']);
    expect(postgresImageRecipe(18)).toMatchObject({ name: 'faultline-postgres', variant: '18', args: { PG_MAJOR: '18' } });
    expect(DEFAULT_REDIS_VERSION).toEqual({ redis: 8, valkey: 8 });
    expect(redisImageRecipe('redis', 7)).toMatchObject({ variant: 'redis-7', suite: 'bookworm', args: { SERVER_PACKAGE: 'redis-server' } });
    expect(redisImageRecipe('valkey', 9)).toMatchObject({ variant: 'valkey-9', suite: 'forky', args: { SERVER_PACKAGE: 'valkey-server' } });
    expect([hasWaitAof('redis', 7), hasWaitAof('redis', 8), hasWaitAof('valkey', 8)]).toEqual([false, true, true]);
  });

  it('builds PostgreSQL 16 only from an apt source the user gives, and refuses what it cannot build', () => {
    expect(() => postgresImageRecipe(16, '')).toThrow(/PostgreSQL 16 is in none of the Debian suites .*FAULTLINE_PG_APT_SOURCE="deb \[trusted=yes\] http:\/\/apt\.postgresql\.org\/pub\/repos\/apt trixie-pgdg main".*not tested/);
    const line = 'deb [trusted=yes] http://apt.postgresql.org/pub/repos/apt trixie-pgdg main';
    expect(postgresImageRecipe(16, line)).toMatchObject({ suite: 'trixie', args: { PG_MAJOR: '16', PG_APT_SOURCE: line } });
    expect(() => postgresImageRecipe(14, '')).toThrow(/PostgreSQL 14 cannot be built here: use 15, 17, 18/);
    expect(() => redisImageRecipe('valkey', 7)).toThrow(/Valkey 7 cannot be built here: use valkey 8 or 9/);
    expect(() => validateTopology({ ...redisHealthy.topology, redis: { ...(redisHealthy.topology as { redis: object }).redis, version: 6 } })).toThrow(/redis\.version: Redis 6 cannot be built here: use redis 7 or 8/);
  });

  it('pins a topology to the versions asked, leaving other engines and unasked servers alone', () => {
    const pg = validateTopology(pinVersions(defaultTopology, { postgres: 18, valkey: 9 })) as PostgresTopology;
    expect(pg.postgres.version).toBe(18);
    expect((validateTopology(pinVersions(defaultTopology, { redis: 7 })) as PostgresTopology).postgres.version).toBe(DEFAULT_POSTGRES);
    // --valkey names the server too: a Redis drill runs on Valkey.
    const valkey = validateTopology(pinVersions(redisHealthy.topology, { valkey: 9 })) as RedisTopology;
    expect(valkey.redis).toMatchObject({ server: 'valkey', version: 9 });
    const redis7 = validateTopology(pinVersions(redisHealthy.topology, { postgres: 15, redis: 7 })) as RedisTopology;
    expect(redis7.redis).toMatchObject({ server: 'redis', version: 7 });
    expect(pinVersions(defaultTopology, {})).toBe(defaultTopology);
  });

  it('reads --postgres, --redis and --valkey as whole major numbers, and refuses --redis with --valkey', () => {
    expect(versionPins({ postgres: '18', valkey: '9' })).toEqual({ postgres: 18, valkey: 9 });
    expect(() => versionPins({ postgres: '17.2' })).toThrow(/--postgres takes a major version number, e.g. '--postgres 18': got '17\.2'/);
    expect(() => versionPins({ redis: '8', valkey: '9' })).toThrow(/Give --redis N or --valkey N, not both/);
  });
});
