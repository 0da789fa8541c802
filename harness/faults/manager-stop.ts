import { targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

/**
 * manager-stop: the cluster's own HA manager's member on the node stops: frozen with SIGSTOP
 * ('pause', a hung agent: it holds its connections and answers nothing) or killed with SIGKILL
 * ('kill'). Healing resumes it, or starts it again from its own state. The server it manages is
 * untouched. Only for a topology with an HA manager.
 */
export const managerStop: Fault = {
  name: 'manager-stop',
  description: "Stop the HA manager's member on the node (Sentinel, Patroni): frozen ('pause') or killed ('kill'); the server it manages runs on",
  mirrors: 'a hung or crashed HA agent beside a healthy server (OOM killer, a stuck process after a storage hiccup)',
  targets: ['node'],
  disruptive: false,
  healable: true,
  params: { how: { description: "'pause': SIGSTOP, resumed when healed; 'kill': SIGKILL, started again when healed", kind: 'choice', choices: ['pause', 'kill'], default: 'pause' } },
  check(topology, _params, engine) {
    return engine.managerOf?.(topology) ? undefined : 'the topology has no HA manager to stop (redis.ha or postgres.ha)';
  },
  async inject({ cluster }, target, params) {
    const manager = cluster.engine.manager?.(cluster);
    if (!manager) throw new Error('the cluster has no HA manager to stop');
    return manager.stopMember(targetNode(target), params.how === 'kill' ? 'kill' : 'pause');
  },
};
