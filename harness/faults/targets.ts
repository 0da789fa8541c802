// Fault targets as users write them, checked against the topology before anything starts:
//   a node name ('pg-primary'), a role ('primary', 'replica', 'archive'), 'domain:<name>' for a
//   whole failure domain, and 'A~B' for the link between two nodes. A role is resolved when the
//   fault fires, not when it is planned: after a failover, 'primary' is the new primary.

import { ConfigError } from '../errors.ts';
import type { NodeRole, Topology } from '../cluster/topology.ts';
import type { ClusterNode, StartedCluster } from '../cluster/engine.ts';
import type { Fault, ResolvedTarget, TargetKind } from './types.ts';

const ROLES = ['primary', 'replica', 'archive'];

export function targetKind(target: string): TargetKind {
  if (target.startsWith('domain:')) return 'domain';
  if (target.includes('~')) return 'link';
  return 'node';
}

/**
 * A node target as it stays in the plan: a node name, or a role that some node of this topology
 * has (resolved when the fault fires). Throws ConfigError naming the choices.
 */
function nodeName(topology: Topology, target: string, where: string): string {
  const nodes = topology.nodes;
  const byName = nodes.find((n) => n.name === target);
  if (byName) return byName.name;
  if (ROLES.includes(target)) {
    if (nodes.some((n) => n.role === target)) return target;
    throw new ConfigError(`${where}: target '${target}' names a role no node has in this topology`);
  }
  throw new ConfigError(
    `${where}: target '${target}' does not exist: use a node (${nodes.map((n) => n.name).join(', ')}), a role (${ROLES.join(', ')}), ` +
      `'domain:<name>' (${topology.domains.join(', ')}) or a link 'A~B'`,
  );
}

/** Checks a target for a fault against a topology; returns its canonical label. */
export function checkTarget(fault: Fault, topology: Topology, target: string, where: string): string {
  const kind = targetKind(target);
  if (!fault.targets.includes(kind)) {
    throw new ConfigError(`${where}: fault '${fault.name}' cannot target a ${kind} ('${target}'); it takes a ${fault.targets.join(' or ')}`);
  }
  if (kind === 'domain') {
    const domain = target.slice('domain:'.length);
    if (!topology.domains.includes(domain)) {
      throw new ConfigError(`${where}: target '${target}': no failure domain '${domain}' (declared: ${topology.domains.join(', ')})`);
    }
    return target;
  }
  if (kind === 'link') {
    const [a, b, ...rest] = target.split('~');
    if (rest.length > 0 || !a || !b) throw new ConfigError(`${where}: link target '${target}' must be two nodes joined by '~', e.g. 'primary~replica'`);
    const left = nodeName(topology, a, where);
    const right = nodeName(topology, b, where);
    if (left === right) throw new ConfigError(`${where}: link target '${target}' joins node '${left}' to itself`);
    return `${left}~${right}`;
  }
  const name = nodeName(topology, target, where);
  const role = ROLES.includes(name) ? (name as NodeRole) : topology.nodes.find((n) => n.name === name)!.role;
  if (fault.roles && !fault.roles.includes(role)) {
    const fits = topology.nodes.filter((n) => fault.roles!.includes(n.role)).map((n) => `'${n.name}'`);
    throw new ConfigError(
      `${where}: fault '${fault.name}' acts on a node with role ${fault.roles.join(' or ')}, but ${ROLES.includes(name) ? `the target is the role '${name}'` : `'${name}' is the ${role}`}: ` +
        (fits.length ? `target ${fits.join(' or ')} (or the role '${fault.roles[0]}')` : `this topology has no such node; add one`),
    );
  }
  return name;
}

/** The node a node label means in the running cluster now: a name, or whichever node has the role now. */
function currentNode(cluster: StartedCluster, label: string): ClusterNode {
  if (label === 'primary') return cluster.primary();
  if (label === 'replica') {
    const replica = cluster.replicas()[0];
    if (!replica) throw new Error(`no node is a replica now (${cluster.nodes.map((n) => `${n.name}: ${n.lost ? 'lost' : n.role}`).join(', ')})`);
    return replica;
  }
  if (label === 'archive') {
    const archive = cluster.archive();
    if (!archive) throw new Error('no node is the archive');
    return archive;
  }
  return cluster.node(label);
}

/** Whether a target label names a role that recovery can move to another node ('primary', 'replica', or a link with one at an end). */
export function namesRole(label: string): boolean {
  return label.split('~').some((end) => end === 'primary' || end === 'replica');
}

/**
 * Resolves a checked target label against the running cluster, at the moment the fault fires:
 * roles name the node that has the role now. The resolved label names the nodes themselves.
 */
export function resolveTarget(cluster: StartedCluster, label: string): ResolvedTarget {
  const kind = targetKind(label);
  if (kind === 'domain') {
    const domain = label.slice('domain:'.length);
    return { kind, label, domain, nodes: cluster.nodes.filter((n) => n.spec.domain === domain) };
  }
  if (kind === 'link') {
    const [a, b] = label.split('~').map((end) => currentNode(cluster, end)) as [ClusterNode, ClusterNode];
    if (a === b) throw new Error(`link '${label}' joins ${a.name} to itself now`);
    return { kind, label: `${a.name}~${b.name}`, a, b };
  }
  const node = currentNode(cluster, label);
  return { kind, label: node.name, node };
}
