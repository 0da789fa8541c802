import { ensureServerUp, targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

/** process-crash: SIGKILL to every server process of the node; heal restarts it (crash recovery). */
export const processCrash: Fault = {
  name: 'process-crash',
  description: 'Kill the PostgreSQL server with SIGKILL; healing restarts it, which runs crash recovery',
  mirrors: 'a host crash',
  targets: ['node'],
  disruptive: true,
  healable: true,
  params: {},
  async inject(_context, target) {
    const node = targetNode(target);
    await node.killServer();
    return { detail: `killed PostgreSQL on ${node.name}`, heal: () => ensureServerUp(node) };
  },
};
