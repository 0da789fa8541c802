import { ensureServerUp, targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

/** process-crash: SIGKILL to every server process of the node; heal restarts it (crash recovery). */
export const processCrash: Fault = {
  name: 'process-crash',
  description: 'Kill the server (PostgreSQL, Redis) with SIGKILL; healing restarts it, which runs crash recovery',
  mirrors: 'a host crash',
  targets: ['node'],
  disruptive: true,
  healable: true,
  params: { restart: { description: "'yes': healing restarts the server; 'no': it stays down (for failover drills)", kind: 'choice', choices: ['yes', 'no'], default: 'yes' } },
  async inject(_context, target, params) {
    const node = targetNode(target);
    await node.killServer();
    if (params.restart === 'no') return { detail: `killed ${node.serverName} on ${node.name}; it stays down` };
    return { detail: `killed ${node.serverName} on ${node.name}`, heal: () => ensureServerUp(node) };
  },
};
