// The engine ability of a cluster that runs its own HA manager (Redis Sentinel, Patroni): the
// manager fails over, not faultline. faultline watches it through the manager's own interfaces and
// appends every role change it makes to the history as it happens (RoleEvent), so that the checks
// can tell which server was primary when each write was acknowledged.

import type { HistoryWriter } from '../history/writer.ts';
import type { ClusterNode } from './engine.ts';

/** What manager-stop stops on a node: the manager's agent (Sentinel, Patroni) or its DCS member (etcd). */
export type StopPart = 'agent' | 'dcs';

export interface HaManager {
  /** The manager's name as the history records it: 'sentinel'. */
  readonly name: string;
  /** Its settings as one line for the run's log and report, naming those faultline chose. */
  readonly describe: string;
  /** Starts watching; resolves once every member of the manager is being watched. */
  watch(history: HistoryWriter, log: (line: string) => void): Promise<HaWatch>;
  /**
   * The manager-stop fault: its member on `node` frozen (SIGSTOP) or killed; heal resumes or restarts
   * it. `part` 'dcs' stops the member of the store it keeps its state in (Patroni's etcd) instead.
   */
  stopMember(node: ClusterNode, how: 'pause' | 'kill', part: StopPart): Promise<{ detail: string; heal: () => Promise<string> }>;
}

export interface HaWatch {
  /**
   * Waits, up to `timeoutMs`, until the manager has settled: its members agree on one primary, and
   * every server it can reach follows that primary. Never throws: says what it found, settled or not.
   */
  settle(timeoutMs: number): Promise<{ settled: boolean; detail: string }>;
  /** Stops watching (closes its connections). */
  stop(): Promise<void>;
}
