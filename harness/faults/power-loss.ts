import { canaryProblems, cutPower, targetNodes } from './faultfs.ts';
import { asRoot, ensureServerUp } from './node-ops.ts';
import type { ClusterNode } from '../cluster/engine.ts';
import { describeError } from '../errors.ts';
import type { Fault } from './types.ts';

/** The lines of a server's failure that say why (FATAL, PANIC), or its last line. */
function lastLines(text: string): string {
  const lines = text.split('\n').filter((l) => /FATAL|PANIC|invalid page|Bad file format|error/i.test(l) && !/is starting up|in recovery mode/.test(l));
  return (lines.length ? lines.slice(-3) : text.trim().split('\n').slice(-1)).join(' / ');
}

/** Marks a node whose SSH server the power loss took down, so that power coming back starts it again. */
const SSHD_DOWN = '/run/faultline-sshd-down';

/**
 * The host's SSH server (a backup host's) goes down with the power: the listener and every session
 * (sshd, sshd-session), before the volume's writes are dropped. Left running, a host without power
 * went on accepting logins: `ssh backup-host sync DIR` after the cut fsynced a directory whose new
 * entry the cut had just undone, and reported success for a segment the archive no longer held.
 */
async function sshDown(node: ClusterNode): Promise<void> {
  await asRoot(node, ['bash', '-c', `pgrep -x sshd >/dev/null || exit 0; touch ${SSHD_DOWN}; for _ in $(seq 1 100); do pkill -KILL -x sshd; pkill -KILL -x sshd-session; pgrep -x 'sshd|sshd-session' >/dev/null || exit 0; sleep 0.02; done; echo 'sshd still runs after SIGKILL' >&2; exit 1`]);
}

/** Power back: the SSH server the power loss took down starts again, as at boot. */
async function sshUp(node: ClusterNode): Promise<string> {
  const started = await asRoot(node, ['bash', '-c', `[ -e ${SSHD_DOWN} ] || exit 0; rm -f ${SSHD_DOWN}; /usr/sbin/sshd -E /var/log/faultline/sshd.log && echo started`]);
  return started.stdout.includes('started') ? `; ${node.name}'s SSH server started again` : '';
}

/**
 * power-loss: the node loses power. Every process of the user that owns its volume (the server
 * and its helpers) is killed, its SSH server with them (started again with the power), and faultfs drops
 * every write that was never fsynced, with the directory entries never made durable (optionally
 * tearing the last writes: `torn`). On `domain:<name>` every node of the domain loses power at
 * once: the SAN's cache lost, as in a correlated power failure. Healing powers the nodes on again:
 * their servers start on what their volumes kept (crash recovery). Before it cuts anything, a
 * canary proves on each volume that un-fsynced data is dropped and fsynced data kept; if that
 * fails the power is not cut and the run cannot pass.
 */
export const powerLoss: Fault = {
  name: 'power-loss',
  description: 'Cut the power: the server dies and every write it never fsynced is gone (faultfs); healing powers the node on again',
  mirrors: "a power failure, or a controller's write cache lost without its battery",
  targets: ['node', 'domain'],
  disruptive: true,
  healable: true,
  params: {
    torn: {
      description: "'none': every un-synced write is dropped; 'seq': a random prefix of each file's un-synced writes reached the disk; 'op': also part of the next write (a torn page)",
      kind: 'choice',
      choices: ['none', 'seq', 'op'],
      default: 'none',
    },
    restart: { description: "'yes': healing starts the servers again; 'no': they stay down (for failover drills)", kind: 'choice', choices: ['yes', 'no'], default: 'yes' },
  },
  faultfs: () => 'lost-writes',
  async inject(context, target, params) {
    const nodes = targetNodes(target);
    if (nodes.length === 0) return { detail: `no node left in ${target.label}`, noEffect: `every node of ${target.label} is lost` };
    const canary = await canaryProblems(nodes);
    if (canary) return { detail: `power not cut: ${canary}`, noEffect: `${canary}; the power was not cut` };
    const running = await Promise.all(nodes.map((n) => n.serverRunning()));
    const caveats = (await Promise.all(nodes.map((n, i) => (running[i] && n.durabilityCaveat ? n.durabilityCaveat() : undefined)))).filter((c) => c !== undefined);
    // Each node's seed is drawn in node order, before anything runs, so that a seed replays the same cut.
    const seeds = nodes.map(() => Math.floor(context.random() * 2 ** 32));
    const cut = await Promise.all(
      nodes.map(async (n, i) => {
        await sshDown(n);
        return cutPower(n, String(params.torn), seeds[i]!);
      }),
    );
    const dropped = nodes.map((n, i) => {
      const [own, ...others] = cut[i]!;
      const counts = (s: Record<string, string> | undefined) => `${s?.cached_bytes ?? '?'} un-synced bytes in ${s?.dirty_files ?? '?'} files and ${s?.pending_dir_entries ?? '?'} directory changes`;
      const more = others.map((o) => ` (its ${o.lun} volume: ${counts(o.status)})`).join('');
      return `${n.name}: ${counts(own?.status)} dropped${more}`;
    });
    const torn = params.torn === 'none' ? '' : ` (torn=${params.torn})`;
    return {
      detail: `power lost${torn}: ${dropped.join('; ')}`,
      ...(caveats.length > 0 ? { caveat: caveats.join('; ') } : {}),
      heal: async () => {
        const ssh = (await Promise.all(nodes.map(sshUp))).join('');
        if (params.restart === 'no') return `power back; the servers stay down${ssh}`;
        // A server that cannot start on what the power loss left is the drill's finding, not a
        // broken run: it is said here, and the checks (recovery, integrity) report it.
        const start = (n: ClusterNode) =>
          ensureServerUp(n).catch((error: unknown) => `${n.name} did not start again: ${lastLines(describeError(error))}`);
        const started = await Promise.all(nodes.map((n, i) => (running[i] ? start(n) : Promise.resolve(`${n.name} ran no server`))));
        return `power back: ${started.join('; ')}${ssh}`;
      },
    };
  },
};
