// Redis's and Valkey's part of `faultline prove-backup`: a data directory (dump.rdb, the append-only
// files) read first, then checked, loaded and proved in a scratch node.

import type { ProveBackupAbility } from '../../../cluster/prove-ability.ts';
import { redisImage } from '../image.ts';
import { REDIS_LOGS } from '../redis-node.ts';
import { inspectRedisDir, type RedisDetails } from './inspect.ts';
import { parseRedisCheckFile, proveRedis } from './prove.ts';

export const redisProveBackup: ProveBackupAbility = {
  sources: ['redis-dir'],
  logs: REDIS_LOGS,
  parseChecks: parseRedisCheckFile,
  inspect: async (source) => inspectRedisDir(source),
  image: (backup, { log }) => redisImage((backup.details as unknown as RedisDetails).server, backup.major, log ? { log } : {}),
  prove: proveRedis,
};
