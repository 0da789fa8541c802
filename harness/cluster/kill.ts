// Killing a node's processes the way a crash does (SIGKILL), and only saying so once they are gone:
// a killed process takes a moment to exit, and what comes next (unmounting or rolling back its
// volume, restarting the server) must not find it still holding files.

import { ClusterError } from '../errors.ts';
import type { ClusterNode, ExecRecord } from './engine.ts';

/** How long the killed processes may take to disappear before the kill is reported as failed. */
const GONE_WITHIN_S = 10;

/**
 * The command (run as root in the node) that SIGKILLs every process named `name` and waits until
 * none is left. Its exit status is pkill's (0: killed, 1: none was running), or 2, saying so, when
 * some still ran 10 s later.
 */
export function killAllCommand(name: string): string[] {
  const script =
    'pkill -KILL -x "$0"; s=$?; ' +
    `for _ in $(seq 1 ${GONE_WITHIN_S * 100}); do pgrep -x "$0" >/dev/null || exit $s; sleep 0.01; done; ` +
    `echo "$0 still running ${GONE_WITHIN_S} s after SIGKILL: pids $(pgrep -x "$0" | tr '\\n' ' ')" >&2; exit 2`;
  return ['bash', '-c', script, name];
}

/** Runs killAllCommand(name) as root in the node; throws when some are still running after the bound. */
export async function killAll(node: Pick<ClusterNode, 'name' | 'exec'>, name: string): Promise<ExecRecord> {
  const killed = await node.exec(killAllCommand(name), { user: 'root' });
  if (killed.exitCode > 1) throw new ClusterError(`${name} on ${node.name} did not exit: ${(killed.stderr || killed.stdout).trim()}`);
  return killed;
}
