// The scratch node a Redis data directory is restored into: a volume of its own, the user's folder
// mounted read-only (proved so from inside before anything reads it), and the files copied from it.

import { isolate, readOnlyMounts } from '../../../cluster/scratch-node.ts';
import type { InspectedBackup, ProveContext } from '../../../cluster/prove-ability.ts';
import { REDIS_DATA, RedisNodeHandle } from '../redis-node.ts';
import { VOLUME_MOUNT } from '../../../cluster/engine.ts';
import { REDIS_DIR_MOUNT, type RedisDetails } from './inspect.ts';

export const PROVE_NODE = 'redis-prove';

/** Starts the scratch node and checks that each of the user's paths is mounted read-only in it. */
export async function startScratch(backup: InspectedBackup, image: string, context: ProveContext): Promise<{ node: RedisNodeHandle; mounts: Array<{ target: string; flags: string }>; notes: string[] }> {
  const started = await context.run.startNode({
    name: PROVE_NODE,
    image,
    exposedPorts: [],
    isolated: true,
    luns: [{ name: 'data', domain: context.domain, mountPoint: VOLUME_MOUNT, bytes: backup.bytes, owner: 'redis:redis' }],
    binds: backup.paths.map((p) => ({ source: p.source, target: p.target, readOnly: true })),
  });
  const spec = { name: PROVE_NODE, role: 'primary' as const, domain: context.domain, volumeBytes: backup.bytes, synchronous: false, settings: [] };
  const node = new RedisNodeHandle(started, spec, (backup.details as unknown as RedisDetails).server);
  node.role = 'retired'; // it serves nobody
  const mounts = await readOnlyMounts(node, backup.paths);
  return { node, mounts, notes: [await isolate(node)] };
}

/**
 * Copies the files the server loads (the RDB, the AOF folder or file) from the read-only mount into
 * the node's volume, as root (it reads files only their owner may), then gives them to the server.
 */
export async function fetchFiles(node: RedisNodeHandle, details: RedisDetails): Promise<void> {
  const { layout } = details;
  // The names go in through the environment: a file's name is never shell text.
  const aof = layout.aof?.kind === 'multi' ? layout.aof.dir : layout.aof?.file;
  const script = 'set -e; if [ -n "$FL_RDB" ]; then cp -p "$FL_FROM/$FL_RDB" "$FL_TO/$FL_RDB"; fi; if [ -n "$FL_AOF" ]; then cp -rp "$FL_FROM/$FL_AOF" "$FL_TO/$FL_AOF"; fi; chown -R redis:redis "$FL_TO"; chmod -R u+rwX "$FL_TO"';
  await node.run(['bash', '-c', script], {
    user: 'root',
    env: { FL_FROM: REDIS_DIR_MOUNT, FL_TO: REDIS_DATA, FL_RDB: layout.rdb ?? '', FL_AOF: aof ?? '' },
    timeoutMs: 24 * 3600_000,
  });
}
