// The manager-stop fault's common part, whatever the manager: its process in a node frozen
// (SIGSTOP) or killed (SIGKILL), proved so from the process state, and healed by resuming it or
// by the manager's own way of starting it again. The server it manages is untouched.

import { ClusterError } from '../errors.ts';
import { waitFor } from '../wait.ts';
import type { ClusterNode } from './engine.ts';

/** How the process is found: by its exact name, or by a pattern of its whole command line. */
export type ProcessMatch = { exact: string } | { pattern: string };

export async function stopMemberProcess(
  node: ClusterNode,
  how: 'pause' | 'kill',
  process: { label: string; match: ProcessMatch; restart: () => Promise<string> },
): Promise<{ detail: string; heal: () => Promise<string> }> {
  const { label: name, match } = process;
  const select = 'exact' in match ? ['-x', match.exact] : ['-f', match.pattern];
  await node.run(['pkill', how === 'pause' ? '-STOP' : '-KILL', ...select], { user: 'root' });
  const stat = 'exact' in match ? ['ps', '-C', match.exact, '-o', 'stat='] : ['bash', '-c', `pgrep -f '${match.pattern}' | xargs -r ps -o stat= -p`];
  const now = await waitFor({ what: `${name} on ${node.name} to be ${how === 'pause' ? 'stopped' : 'gone'}`, timeoutMs: 5000, intervalMs: 20, error: (m) => new ClusterError(m) }, async (seen) => {
    const s = (await node.exec(stat)).stdout.trim();
    seen(s || 'no process');
    return how === 'pause' ? (s.startsWith('T') ? s : undefined) : s === '' ? 'gone' : undefined;
  });
  return {
    detail: how === 'pause' ? `froze ${name} on ${node.name} with SIGSTOP (state ${now}); ${node.serverName} runs on` : `killed ${name} on ${node.name} with SIGKILL; ${node.serverName} runs on`,
    heal: async () => {
      if (how === 'kill') return process.restart();
      await node.run(['pkill', '-CONT', ...select], { user: 'root' });
      return `resumed ${name} on ${node.name}`;
    },
  };
}
