// Preflight rules on the user's sentinel.conf and redis.conf (`faultline validate --sentinel-conf`),
// from Redis's documentation: a primary cut off from its replicas and Sentinels that keeps taking
// writes, and a primary that restarts empty and is copied by its replicas.

import type { RedisConfFile, SentinelConfFile } from '../../engines/redis/index.ts';
import { sourceOf, type Rule } from './types.ts';

/** What the Sentinel rules read. */
export interface SentinelUserConfig {
  sentinel: SentinelConfFile;
  /** The servers' redis.conf, when given (--redis-conf); Redis's defaults otherwise. */
  redis?: RedisConfFile;
}

export const isolatedPrimaryWrites: Rule<SentinelUserConfig> = {
  id: 'sentinel-isolated-primary-writes',
  severity: 'warning',
  title: 'A primary cut off from its replicas and Sentinels keeps acknowledging writes',
  reason:
    'Redis replicates asynchronously and, with min-replicas-to-write 0, a primary that the Sentinels can no longer reach but its clients can goes on acknowledging writes; the Sentinels promote a replica, and when the cut heals they make the old primary a replica of the new one, which discards every write it acknowledged meanwhile.',
  fix: 'Set min-replicas-to-write 1 and a small min-replicas-max-lag (e.g. 10, or less) in the servers\' redis.conf: an isolated primary then refuses writes once no replica has acknowledged for that many seconds, which bounds the loss.',
  docs: 'https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/#example-2-basic-setup-with-three-boxes',
  check: (config) => {
    const redis = config.redis;
    if ((redis?.server.minReplicasToWrite ?? 0) > 0) return [];
    if (!redis) return [{ message: "min-replicas-to-write is not known (no --redis-conf): the drills run Redis's default, 0" }];
    return [{ message: `min-replicas-to-write is ${redis.sources.minReplicasToWrite ? '0' : "not set (0, Redis's default)"}`, source: sourceOf(redis.sources.minReplicasToWrite, redis.file) }];
  },
};

export const primaryNoPersistence: Rule<SentinelUserConfig> = {
  id: 'redis-primary-no-persistence',
  severity: 'error',
  title: 'The primary keeps nothing on disk: restarted, it comes back empty and its replicas copy that',
  reason:
    'With appendonly no and no save points, a primary that crashes and is restarted (by a service manager, faster than the Sentinels find it down) starts with an empty data set, and its replicas, which copy their primary exactly, empty themselves too.',
  fix: 'Turn on persistence on the servers (appendonly yes, or save points), or make sure a crashed primary is never restarted automatically.',
  docs: 'https://redis.io/docs/latest/operate/oss_and_stack/management/replication/#safety-of-replication-when-master-has-persistence-turned-off',
  check: (config) => {
    const redis = config.redis;
    if (!redis || redis.server.appendonly === true || redis.server.save === undefined || redis.server.save.trim() !== '') return [];
    return [{ message: `appendonly is ${redis.sources.appendonly ? 'no' : "not set (no, Redis's default)"} and save is "" (no snapshots)`, source: sourceOf(redis.sources.save, redis.file) }];
  },
};

export const sentinelRules: Rule<SentinelUserConfig>[] = [primaryNoPersistence, isolatedPrimaryWrites];
