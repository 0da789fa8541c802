// Killing a node's processes the way a crash does (SIGKILL), and only saying so once they are gone:
// a killed process takes a moment to exit, and what comes next (unmounting or rolling back its
// volume, restarting the server) must not find it still holding files.

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
