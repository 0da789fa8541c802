// What every engine's prove-backup scratch node shares: the user's paths proved read-only from inside
// before anything reads them, and each phase's wall time kept as it ends (also when it throws).

import type { ClusterNode } from './engine.ts';
import type { ReadOnlyPath } from './prove-ability.ts';

/**
 * How each of the user's paths is mounted in `node` (findmnt's options). A path that is not mounted
 * read-only stops the proof before anything read it: a proof must never be able to write into the
 * user's backups. That is faultline's own failure, a plain Error.
 */
export async function readOnlyMounts(node: ClusterNode, paths: readonly ReadOnlyPath[]): Promise<Array<{ target: string; flags: string }>> {
  const mounts: Array<{ target: string; flags: string }> = [];
  for (const path of paths) {
    const found = await node.exec(['findmnt', '-n', '-o', 'OPTIONS', '--target', path.target], { user: 'root' });
    const flags = found.stdout.trim().split('\n')[0] ?? '';
    if (found.exitCode !== 0 || !flags.split(',').includes('ro')) {
      throw new Error(`${path.what} (${path.source}) is not mounted read-only in the scratch node (${path.target}: '${flags || found.stderr.trim()}'): stopped before anything read it`);
    }
    mounts.push({ target: path.target, flags });
  }
  return mounts;
}

/** Runs `work`, adding its wall time to `phases[phase]` (also when it throws). */
export async function timed<T>(phases: Record<string, number>, phase: string, work: () => Promise<T>): Promise<T> {
  const began = performance.now();
  try {
    return await work();
  } finally {
    phases[phase] = (phases[phase] ?? 0) + Math.round(performance.now() - began);
  }
}

/**
 * Closes the scratch node's way out, from inside (it has NET_ADMIN): its firewall drops every packet
 * it sends but replies, loopback (where Docker's name server answers) and TCP to `reach` (an S3
 * endpoint); with nothing to reach, its default route goes too. Docker's internal network is not
 * enough on its own: the node still has a default route to the host's bridge address. Checked
 * afterwards; a node left with a way out is faultline's own failure. Returns the sentence for the record.
 */
export async function isolate(node: ClusterNode, reach: ReadonlyArray<{ host: string; port: number; what: string }> = []): Promise<string> {
  const allow = reach.map((r) => `for ip in $(getent ahostsv4 ${quote(r.host)} | awk '{print $1}' | sort -u); do iptables -A OUTPUT -p tcp -d "$ip" --dport ${r.port} -j ACCEPT; echo "$ip"; done`);
  const script = [
    'set -e',
    'iptables -A OUTPUT -o lo -j ACCEPT',
    'iptables -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    ...allow,
    'iptables -P OUTPUT DROP',
    ...(reach.length === 0 ? ['ip -4 route del default 2>/dev/null || true', '[ -z "$(ip -4 route show default)" ]'] : []),
    'iptables -S OUTPUT | grep -qx -- "-P OUTPUT DROP"',
  ].join('; ');
  const locked = await node.exec(['bash', '-c', script], { user: 'root' });
  if (locked.exitCode !== 0) throw new Error(`the scratch node could not be cut off from the network (it would have a way out): ${(locked.stderr || locked.stdout).trim() || `exit ${locked.exitCode}`}`);
  if (reach.length === 0) return 'the scratch node has no way out: no default route, and its firewall drops all it sends';
  const addresses = locked.stdout.trim().split('\n').filter(Boolean);
  if (addresses.length === 0) throw new Error(`the scratch node cannot resolve ${reach.map((r) => r.host).join(', ')}: it would reach nothing`);
  return `the scratch node's only way out is TCP to ${reach.map((r) => `${r.what} ${r.host}:${r.port}`).join(', ')} (${addresses.join(', ')}); its firewall drops all else`;
}

/** A word for a shell: single-quoted. */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
