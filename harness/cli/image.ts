// 'faultline image': build (or reuse) the node image for a PostgreSQL major version.

import { ensureNodeImage } from '../cluster/docker/index.ts';
import { validateTopology } from '../engines/registry.ts';
import { createProgress } from '../progress.ts';
import { parse, type Command } from './options.ts';

export const usage = 'faultline image [--postgres N]\n\nBuilds (or reuses) the node image for PostgreSQL major N (default 15).';

export const command: Command = async (args) => {
  const { values } = parse(args, { postgres: { type: 'string', default: '15' } }, 'image');
  const version = Number(values.postgres);
  validateTopology({ domains: ['x1'], postgres: { version, nodes: [{ name: 'pg', role: 'primary', domain: 'x1' }] } }, '--postgres');
  const log = createProgress();
  const tag = await ensureNodeImage({ postgresVersion: version, log });
  log.pause();
  process.stdout.write(`${tag}\n`);
  return 0;
};
