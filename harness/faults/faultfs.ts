// What the faults that work through faultfs (docker/faultfs) share: its control socket, the canary
// that proves a volume's faultfs drops what was never fsynced before a fault relies on it.

import type { ClusterNode } from '../cluster/engine.ts';
import { asRoot } from './node-ops.ts';
import type { ParamValues, ResolvedTarget } from './types.ts';
import type { Topology } from '../cluster/topology.ts';

/** The nodes a node or domain target means now (lost nodes are left out). */
export function targetNodes(target: ResolvedTarget): ClusterNode[] {
  if (target.kind === 'node') return [target.node];
  if (target.kind === 'domain') return target.nodes.filter((n) => !n.lost);
  throw new Error(`expected a node or a domain, got the link '${target.label}'`);
}

type Lun = ClusterNode['luns'][number];

function socketOf(node: ClusterNode, lun: Lun): string {
  const faultfs = lun.faultfs;
  if (!faultfs) throw new Error(`${node.name}'s volume '${lun.name}' has no faultfs (the run was started without it)`);
  return faultfs.socket;
}

/** The `volume` parameter of the faults that act on one volume of a node. */
export const VOLUME_PARAM = {
  description: "which of the node's volumes: its own (default), or one it has besides, e.g. 'etcd' (a Patroni member's etcd data, on a volume of its own in the node's failure domain)",
  kind: 'text',
} as const;

/** Why the `volume` parameter names no volume of the topology's nodes; undefined when it does (or is not given). */
export function checkVolume(topology: Topology, params: ParamValues): string | undefined {
  const name = params.volume;
  if (name === undefined || name === '') return undefined;
  if (topology.nodes.some((n) => n.volumes?.includes(String(name)))) return undefined;
  const have = topology.nodes.filter((n) => n.volumes?.length).map((n) => `${n.name}: ${n.volumes!.join(', ')}`);
  return `parameter 'volume' is '${String(name)}', but no node of this topology has such a volume besides its own (${have.length ? have.join('; ') : 'none has any'}); leave it out to act on the node's own volume`;
}

/** The node's volume a fault's `volume` parameter names ('' or undefined: its own, the first). */
export function volumeOf(node: ClusterNode, name: string | undefined): Lun {
  if (!name) return node.volume;
  const lun = node.luns.find((l) => l.name === name);
  if (!lun) throw new Error(`${node.name} has no volume '${name}': its volumes are ${node.luns.map((l) => `'${l.name}'`).join(', ')}`);
  return lun;
}

/** Sends one command to the faultfs on the node's volume (its first unless told); returns its reply after 'ok ', or throws with its error. */
export async function faultfsCtl(node: ClusterNode, command: string[], lun: Lun = node.volume): Promise<string> {
  const record = await node.exec(['faultfs-ctl', socketOf(node, lun), ...command], { user: 'root' });
  const reply = record.stdout.trim();
  if (record.exitCode !== 0 || !reply.startsWith('ok')) {
    const on = lun === node.volume ? node.name : `${node.name}'s volume '${lun.name}'`;
    throw new Error(`faultfs on ${on} refused '${command.join(' ')}': ${reply || record.stderr.trim() || `exit ${record.exitCode}`}`);
  }
  return reply.replace(/^ok ?/, '');
}

/** `status` as numbers and words: rules, cached_bytes, errors_injected, power_lost... */
export async function faultfsStatus(node: ClusterNode, lun: Lun = node.volume): Promise<Record<string, string>> {
  return parseStatus(await faultfsCtl(node, ['status'], lun));
}

export function parseStatus(line: string): Record<string, string> {
  return Object.fromEntries(line.split(/\s+/).filter((w) => w.includes('=')).map((w) => w.split('=', 2) as [string, string]));
}

/**
 * Proves, on each of the node's volumes with faultfs, that an fsynced write survives a power loss
 * and an un-fsynced one does not. Returns why it failed, or undefined when faultfs can be trusted there.
 */
export async function canaryFails(node: ClusterNode): Promise<string | undefined> {
  try {
    for (const lun of node.luns.filter((l) => l.faultfs)) await faultfsCtl(node, ['canary', '.'], lun);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Runs the canary on every node; the reasons of those where it failed ('' when all passed). */
export async function canaryProblems(nodes: ClusterNode[]): Promise<string> {
  const failed = await Promise.all(nodes.map(async (n) => ({ n, why: await canaryFails(n) })));
  return failed
    .filter((f) => f.why)
    .map((f) => `the faultfs canary failed on ${f.n.name} (${f.why})`)
    .join('; ');
}

/**
 * Kills every process of the user that owns the node's volumes (its server and helpers), then drops
 * what was never fsynced on each of them, and ends the outage state; returns each volume's faultfs
 * status just before the drop, its own volume first. The seed makes a torn cut repeatable for the
 * same un-synced writes.
 */
export async function cutPower(node: ClusterNode, torn: string, seed: number): Promise<Array<{ lun: string; status: Record<string, string> }>> {
  const user = node.owner.split(':')[0]!;
  const stacked = node.luns.filter((l) => l.faultfs);
  // Without faultfs, fl-lun refuses the power loss, naming the volume.
  const luns = stacked.length > 0 ? stacked : [node.volume];
  const record = await asRoot(node, ['fl-lun', 'power-loss', luns.map((l) => l.fsMount).join(','), torn, user, String(seed)]);
  // "lun <mount>" then faultfs's "ok rules=..." status line, for each volume in turn.
  const lines = record.stdout.split('\n');
  return luns.map((lun) => {
    const at = lines.indexOf(`lun ${lun.fsMount}`);
    const before = lines.slice(at + 1).find((l) => l.startsWith('ok rules='));
    return { lun: lun.name, status: parseStatus(at >= 0 ? (before ?? '') : '') };
  });
}

/**
 * Makes everything written so far durable on every node whose faultfs keeps un-synced data apart,
 * and starts tracking afresh: the cluster's setup (initdb, clones, the ledger) counts as long
 * durable, as it is on a system in service; only what happens from now on can be lost.
 */
export async function settleVolumes(nodes: ClusterNode[]): Promise<void> {
  await Promise.all(
    nodes
      .filter((n) => !n.lost)
      .flatMap((n) => n.luns.filter((l) => l.faultfs?.lostWrites).map((lun) => ({ n, lun })))
      .map(async ({ n, lun }) => {
        await faultfsCtl(n, ['lost-writes', 'off'], lun);
        await faultfsCtl(n, ['lost-writes', 'on'], lun);
      }),
  );
}
