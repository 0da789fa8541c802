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
    const ips = new Map([target.a, target.b].map((node) => [node, node.container.getIpAddress(cluster.run.networkName)]));
    const apply = (node: ClusterNode, peer: ClusterNode, action: '-I' | '-D') =>
      node.run(['bash', '-c', rules(ips.get(peer)!, action)], { user: 'root' });
    await apply(target.a, target.b, '-I');
    await apply(target.b, target.a, '-I');
    return {
      detail: `dropping all traffic between ${target.a.name} (${ips.get(target.a)}) and ${target.b.name} (${ips.get(target.b)})`,
      heal: async () => {
        // A node lost meanwhile (its domain or volume destroyed) has no rules left to remove.
        const lost = [target.a, target.b].filter((node) => node.lost);
        if (!target.a.lost) await apply(target.a, target.b, '-D');
        if (!target.b.lost) await apply(target.b, target.a, '-D');
        if (lost.length > 0) return `${lost.map((n) => n.name).join(' and ')} lost meanwhile; ${lost.length === 2 ? 'nothing to heal' : `${[target.a, target.b].find((n) => !n.lost)!.name} no longer drops its traffic`}`;
        return `traffic between ${target.a.name} and ${target.b.name} flows again`;
      },
    };
  },
};
