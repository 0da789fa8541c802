import { targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

/**
 * manager-stop: the cluster's own HA manager's member on the node stops: frozen with SIGSTOP
 * ('pause', a hung agent: it holds its connections and answers nothing) or killed with SIGKILL
 * ('kill'). Healing resumes it, or starts it again from its own state. With part 'dcs', the member
 * of the store the manager keeps its state in (Patroni's etcd) instead. The server it manages is
 * untouched. Only for a topology with an HA manager.
 */
export const managerStop: Fault = {
  name: 'manager-stop',
  description: "Stop the HA manager's member on the node (Sentinel, Patroni, or Patroni's etcd member): frozen ('pause') or killed ('kill'); the server it manages runs on",
  mirrors: 'a hung or crashed HA agent beside a healthy server (OOM killer, a stuck process after a storage hiccup)',
  targets: ['node'],
  disruptive: false,
  healable: true,
  params: {
    how: { description: "'pause': SIGSTOP, resumed when healed; 'kill': SIGKILL, started again when healed", kind: 'choice', choices: ['pause', 'kill'], default: 'pause' },
    part: { description: "'agent': the manager itself (Sentinel, Patroni); 'dcs': the member of the store it keeps its state in (Patroni's etcd)", kind: 'choice', choices: ['agent', 'dcs'], default: 'agent' },
  },
  check(topology, params, engine) {
    const manager = engine.managerOf?.(topology);
    if (!manager) return 'the topology has no HA manager to stop (redis.ha or postgres.ha)';
    if (params.part === 'dcs' && manager === 'sentinel') return "Sentinel keeps its state in no separate store: part 'dcs' needs Patroni (postgres.ha)";
    return undefined;
  },
  async inject({ cluster }, target, params) {
    const manager = cluster.engine.manager?.(cluster);
    if (!manager) throw new Error('the cluster has no HA manager to stop');
    return manager.stopMember(targetNode(target), params.how === 'kill' ? 'kill' : 'pause', params.part === 'dcs' ? 'dcs' : 'agent');
  },
};
