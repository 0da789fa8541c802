import { asRoot, targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';
import { killAllCommand } from '../cluster/kill.ts';

/** volume-loss: the node's volume and everything on it is gone; the node cannot start again. */
export const volumeLoss: Fault = {
  name: 'volume-loss',
  description: "Destroy the node's volume and everything on it; the server dies and cannot start again",
  mirrors: 'a LUN destroyed',
  targets: ['node'],
  disruptive: true,
  healable: false,
  params: {},
  async inject(_context, target) {
    const node = targetNode(target);
    const fs = node.volume.fsMount;
    await node.killServer();
    await node.exec(killAllCommand('pg_receivewal'), { user: 'root' });
    const image = (await asRoot(node, ['fl-lun', 'destroy', fs])).stdout.trim();
    node.lost = true;
    return { detail: `destroyed ${node.name}'s volume (${image})` };
  },
};
