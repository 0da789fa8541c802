// Small operations several faults share: run as root in a node, find the node of a target.

import { VOLUME_MOUNT, type ExecRecord, type PostgresNodeHandle } from '../cluster/postgres/postgres-node.ts';
import type { Random } from '../random.ts';
import type { ResolvedTarget } from './types.ts';

export { VOLUME_MOUNT };

export function asRoot(node: PostgresNodeHandle, command: string[]): Promise<ExecRecord> {
  return node.run(command, { user: 'root' });
}

export function targetNode(target: ResolvedTarget): PostgresNodeHandle {
  if (target.kind !== 'node') throw new Error(`expected a node target, got ${target.kind} '${target.label}'`);
  return target.node;
}

/** Starts the server again unless it runs (or the node is lost): crash recovery where it crashed. */
export async function ensureServerUp(node: PostgresNodeHandle): Promise<string> {
  if (node.lost) return `${node.name} is lost; not restarted`;
  if (await node.serverRunning()) return `${node.name} still running`;
  await node.startServer();
  return `${node.name} restarted (crash recovery)`;
}

/**
 * A shell command that overwrites `bytes` seeded random bytes at each offset of `file` in place
 * (behind any program that has it open), drawing the bytes from `random` offset by offset.
 */
export function overwriteScript(file: string, offsets: readonly number[], bytes: number, random: Random): string {
  return offsets
    .map((offset) => {
      const garbage = Array.from({ length: bytes }, () => `\\x${Math.floor(random() * 256).toString(16).padStart(2, '0')}`).join('');
      return `printf '${garbage}' | dd of='${file}' bs=1 seek=${offset} conv=notrunc status=none`;
    })
    .join(' && ');
}
