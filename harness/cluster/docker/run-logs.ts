// A run's node logs, kept as it goes: copied into the run folder's `logs/` before their containers
// are removed (a lost domain's nodes, then the rest at clean-up), with the manifest rewritten each time.

import { describeError } from '../../errors.ts';
import type { LogsManifest, RunLog } from '../../report/logs.ts';
import type { Engine } from './engine.ts';
import { collectRunLogs, writeLogsManifest, type NodeLogs } from './logs.ts';

/** Where a run keeps its nodes' logs (the run folder's `logs/`), and which logs its engine's nodes have. */
export interface RunLogsOptions extends NodeLogs {
  dir: string;
}

/** What a run collected so far, by node: a later collection replaces a node's logs, never another node's. */
export class RunLogKeeper {
  private readonly engine: Engine;
  private readonly runId: string;
  private readonly options: RunLogsOptions;
  private readonly collected = new Map<string, RunLog[]>();
  private readonly problems: string[] = [];

  constructor(engine: Engine, runId: string, options: RunLogsOptions) {
    this.engine = engine;
    this.runId = runId;
    this.options = options;
  }

  /**
   * Copies the logs of the run's containers (of `containerIds` only, when given) into the run's
   * `logs/` and rewrites its manifest. Bounded in time (logs.ts), and it never throws: a failure
   * to collect a log must not keep a run's containers from being removed.
   */
  async collect(containerIds?: string[]): Promise<void> {
    try {
      const found: LogsManifest = await collectRunLogs(this.engine.docker, this.runId, this.options, this.options.dir, containerIds ? { containerIds } : {});
      const nodes = new Map<string, RunLog[]>();
      for (const log of found.logs) nodes.set(log.node, [...(nodes.get(log.node) ?? []), log]);
      for (const [node, logs] of nodes) this.collected.set(node, logs);
      this.problems.push(...found.problems);
      writeLogsManifest(this.options.dir, { logs: [...this.collected.values()].flat(), problems: this.problems });
    } catch (error) {
      this.problems.push(`the logs could not be kept: ${describeError(error)}`);
    }
  }
}
