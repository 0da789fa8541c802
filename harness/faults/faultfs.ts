// What the faults that work through faultfs (docker/faultfs) share: its control socket, the canary
// that proves a volume's faultfs drops what was never fsynced before a fault relies on it.

import type { ClusterNode } from '../cluster/engine.ts';
import { asRoot } from './node-ops.ts';
import type { ResolvedTarget } from './types.ts';

/** The nodes a node or domain target means now (lost nodes are left out). */
export function targetNodes(target: ResolvedTarget): ClusterNode[] {
  if (target.kind === 'node') return [target.node];
  if (target.kind === 'domain') return target.nodes.filter((n) => !n.lost);
  throw new Error(`expected a node or a domain, got the link '${target.label}'`);
}

function socketOf(node: ClusterNode): string {
  const faultfs = node.volume.faultfs;
  if (!faultfs) throw new Error(`${node.name}'s volume has no faultfs (the run was started without it)`);
  return faultfs.socket;
}

/** Sends one command to the node's faultfs; returns its reply after 'ok ', or throws with its error. */
export async function faultfsCtl(node: ClusterNode, command: string[]): Promise<string> {
  const record = await node.exec(['faultfs-ctl', socketOf(node), ...command], { user: 'root' });
  const reply = record.stdout.trim();
  if (record.exitCode !== 0 || !reply.startsWith('ok')) {
    throw new Error(`faultfs on ${node.name} refused '${command.join(' ')}': ${reply || record.stderr.trim() || `exit ${record.exitCode}`}`);
  }
  return reply.replace(/^ok ?/, '');
}

/** `status` as numbers and words: rules, cached_bytes, errors_injected, power_lost... */
export async function faultfsStatus(node: ClusterNode): Promise<Record<string, string>> {
  return parseStatus(await faultfsCtl(node, ['status']));
}

export function parseStatus(line: string): Record<string, string> {
  return Object.fromEntries(line.split(/\s+/).filter((w) => w.includes('=')).map((w) => w.split('=', 2) as [string, string]));
}

/**
 * Proves, on the node's own volume, that an fsynced write survives a power loss and an un-fsynced
 * one does not. Returns why it failed, or undefined when faultfs can be trusted there.
 */
export async function canaryFails(node: ClusterNode): Promise<string | undefined> {
  try {
    await faultfsCtl(node, ['canary', '.']);
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
 * Kills every process of the user that owns the node's volume (its server and helpers), then drops
 * what was never fsynced, and ends the outage state; returns faultfs's status just before the drop.
 * The seed makes a torn cut repeatable for the same un-synced writes.
 */
export async function cutPower(node: ClusterNode, torn: string, seed: number): Promise<Record<string, string>> {
  const user = node.owner.split(':')[0]!;
  const record = await asRoot(node, ['fl-lun', 'power-loss', node.volume.fsMount, torn, user, String(seed)]);
  const before = record.stdout.split('\n').find((l) => l.startsWith('ok rules='));
  return parseStatus(before ?? '');
}

/**
 * Makes everything written so far durable on every node whose faultfs keeps un-synced data apart,
 * and starts tracking afresh: the cluster's setup (initdb, clones, the ledger) counts as long
 * durable, as it is on a system in service; only what happens from now on can be lost.
 */
export async function settleVolumes(nodes: ClusterNode[]): Promise<void> {
  await Promise.all(
    nodes
      .filter((n) => n.volume.faultfs?.lostWrites && !n.lost)
      .map(async (n) => {
        await faultfsCtl(n, ['lost-writes', 'off']);
        await faultfsCtl(n, ['lost-writes', 'on']);
      }),
  );
}
