// 'faultline image': build (or reuse) the node images: faultline's base, and each engine's on it.

import { postgresImage } from '../engines/postgres/index.ts';
import { redisImage } from '../engines/redis/index.ts';
import { validateTopology } from '../engines/registry.ts';
import { createProgress } from '../progress.ts';
import { parse, type Command } from './options.ts';

export const usage = 'faultline image [--postgres N]\n\nBuilds (or reuses) the node images: PostgreSQL major N (default 15) and Redis / Valkey, each on faultline\'s base image.';

export const command: Command = async (args) => {
  const { values } = parse(args, { postgres: { type: 'string', default: '15' } }, 'image');
  const version = Number(values.postgres);
  validateTopology({ domains: ['x1'], postgres: { version, nodes: [{ name: 'pg', role: 'primary', domain: 'x1' }] } }, '--postgres');
  const log = createProgress();
  const tags = [await postgresImage(version, { log }), await redisImage({ log })];
  log.pause();
  process.stdout.write(`${tags.join('\n')}\n`);
  return 0;
};
