import { parseDuration } from '../units.ts';
import { targetNode } from './node-ops.ts';
import { FaultUnavailable, type Fault } from './types.ts';

/** latency: adds delay to everything the node sends on the cluster network (tc netem). */
export const latency: Fault = {
  name: 'latency',
  description: "Delay every packet the node sends on the cluster network (tc netem)",
  mirrors: 'a degraded fabric',
  targets: ['node'],
  disruptive: false,
  healable: true,
  params: { delay: { description: 'added one-way delay', kind: 'duration', default: '100ms' } },
  async inject({ cluster }, target, params) {
    const node = targetNode(target);
    const ip = node.container.getIpAddress(cluster.run.networkName);
    const dev = (await node.run(['bash', '-c', `ip -o -4 addr show | awk '$4 ~ /^${ip.replace(/\./g, '\\.')}\\// {print $2}'`], { user: 'root' })).stdout.trim();
    if (!dev) throw new Error(`no interface with address ${ip} on ${node.name}`);
    const delayMs = parseDuration(params.delay ?? '100ms') ?? 100;
    const added = await node.exec(['tc', 'qdisc', 'add', 'dev', dev, 'root', 'netem', 'delay', `${delayMs}ms`], { user: 'root' });
    if (added.exitCode !== 0) {
      if (/qdisc kind is unknown|No such file or directory|Operation not supported/i.test(added.stderr)) {
        throw new FaultUnavailable(`this kernel has no netem queueing discipline (sch_netem), so latency cannot be added: ${added.stderr.trim()}`);
      }
      throw new Error(`tc qdisc add failed on ${node.name}: ${added.stderr.trim()}`);
    }
    return {
      detail: `${delayMs} ms delay on ${node.name}'s ${dev}`,
      heal: async () => {
        await node.run(['tc', 'qdisc', 'del', 'dev', dev, 'root'], { user: 'root' });
        return `delay removed from ${node.name}`;
      },
    };
  },
};
