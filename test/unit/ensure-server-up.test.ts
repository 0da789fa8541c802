// ensureServerUp, the heal every fault that may stop a server ends with: it starts what the server
// depends on in the node (under Patroni, the etcd member and Patroni) even beside a server that
// runs, and says what it started; whether the server ran is asked before, since Patroni starts it.
import { describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../harness/cluster/engine.ts';
import { ensureServerUp } from '../../harness/faults/node-ops.ts';

function node(state: { running: boolean; companions?: string[]; lost?: boolean }) {
  const calls: string[] = [];
  const fake = {
    name: 'pg-b',
    lost: state.lost ?? false,
    async serverRunning() {
      calls.push('serverRunning');
      return state.running;
    },
    async startServer() {
      calls.push('startServer');
      return { node: 'pg-b', command: [], exitCode: 0, stdout: '', stderr: '', durationMs: 1 };
    },
    ...(state.companions
      ? {
          async startCompanions() {
            calls.push('startCompanions');
            // A manager started here starts the server itself.
            if (state.companions!.length > 0) state.running = true;
            return state.companions!;
          },
        }
      : {}),
  };
  return { node: fake as unknown as ClusterNode, calls };
}

describe('ensureServerUp', () => {
  it('restarts a stopped server of a node without a manager, and leaves a running one alone', async () => {
    const stopped = node({ running: false });
    expect(await ensureServerUp(stopped.node)).toBe('pg-b restarted (crash recovery)');
    expect(stopped.calls).toEqual(['serverRunning', 'startServer']);
    const running = node({ running: true });
    expect(await ensureServerUp(running.node)).toBe('pg-b still running');
    expect(running.calls).toEqual(['serverRunning']);
  });

  it("starts a manager's dead processes beside a running server, and names them", async () => {
    const { node: n, calls } = node({ running: true, companions: ['its etcd member'] });
    expect(await ensureServerUp(n)).toBe('pg-b still running; its etcd member started again');
    expect(calls).toEqual(['serverRunning', 'startCompanions']);
  });

  it('says restarted when the server was down, even though the manager it started brought it up', async () => {
    const { node: n, calls } = node({ running: false, companions: ['its etcd member', 'its Patroni'] });
    expect(await ensureServerUp(n)).toBe('pg-b restarted (crash recovery); its etcd member and its Patroni started again');
    expect(calls).toEqual(['serverRunning', 'startCompanions', 'startServer']);
  });

  it('leaves a lost node alone', async () => {
    const { node: n, calls } = node({ running: false, lost: true, companions: ['its etcd member'] });
    expect(await ensureServerUp(n)).toBe('pg-b is lost; not restarted');
    expect(calls).toEqual([]);
  });
});
