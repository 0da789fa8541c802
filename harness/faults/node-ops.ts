// Small operations several faults share: run as root in a node, find the node of a target.

import { VOLUME_MOUNT, type ClusterNode, type ExecRecord } from '../cluster/engine.ts';
import type { ResolvedTarget } from './types.ts';

export { VOLUME_MOUNT };

export function asRoot(node: ClusterNode, command: string[]): Promise<ExecRecord> {
  return node.run(command, { user: 'root' });
}

export function targetNode(target: ResolvedTarget): ClusterNode {
  if (target.kind !== 'node') throw new Error(`expected a node target, got ${target.kind} '${target.label}'`);
  return target.node;
}

/**
 * Starts the server again unless it runs (or the node is lost): crash recovery where it crashed.
 * What the server depends on in the node (under an HA manager: its DCS member, the manager) is
 * started first when it is not running, even beside a server that runs, and named.
 */
export async function ensureServerUp(node: ClusterNode): Promise<string> {
  if (node.lost) return `${node.name} is lost; not restarted`;
  // Asked first: a manager started below may start the server itself.
  const running = await node.serverRunning();
  const companions = (await node.startCompanions?.()) ?? [];
  const also = companions.length > 0 ? `; ${companions.join(' and ')} started again` : '';
  if (running) return `${node.name} still running${also}`;
  await node.startServer();
  return `${node.name} restarted (crash recovery)${also}`;
}

export { damageAt, damageStillThere, garbage, overwriteScript, readBytesScript, type Damage } from '../cluster/damage.ts';
