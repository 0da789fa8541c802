import type { ClusterNode } from '../cluster/engine.ts';
import type { Fault } from './types.ts';

function rules(peerIp: string, action: '-I' | '-D'): string {
  return `iptables ${action} INPUT -s ${peerIp} -j DROP && iptables ${action} OUTPUT -d ${peerIp} -j DROP`;
}

/** partition: drops all traffic between two nodes, both ways, until healed. */
export const partition: Fault = {
  name: 'partition',
  description: 'Cut the network between two nodes (e.g. primary~replica) in both directions',
  mirrors: 'a fabric reconfiguration isolates one side',
  targets: ['link'],
  disruptive: false,
  healable: true,
  params: {},
  async inject({ cluster }, target) {
    if (target.kind !== 'link') throw new Error(`partition needs a link target 'A~B', got '${target.label}'`);
    const ip = (node: ClusterNode) => node.container.getIpAddress(cluster.run.networkName);
    const apply = (node: ClusterNode, peer: ClusterNode, action: '-I' | '-D') =>
      node.run(['bash', '-c', rules(ip(peer), action)], { user: 'root' });
    await apply(target.a, target.b, '-I');
    await apply(target.b, target.a, '-I');
    return {
      detail: `dropping all traffic between ${target.a.name} (${ip(target.a)}) and ${target.b.name} (${ip(target.b)})`,
      heal: async () => {
        await apply(target.a, target.b, '-D');
        await apply(target.b, target.a, '-D');
        return `traffic between ${target.a.name} and ${target.b.name} flows again`;
      },
    };
  },
};
