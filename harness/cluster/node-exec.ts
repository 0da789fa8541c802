// A command in a node, whatever its engine: through the node's command agent, recorded as an
// ExecRecord (so later stages can put it in the history), a timeout naming the node.

import type { StartedTestContainer } from 'testcontainers';
import { ClusterError } from '../errors.ts';
import { CommandTimeout, runInContainer } from './docker/agent.ts';
import type { ExecRecord } from './engine.ts';

export interface ExecOptions {
  user?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** The name `docker exec` reaches a node's container by (Docker reports it with a leading slash). */
export function containerName(node: { container: StartedTestContainer }): string {
  return node.container.getName().replace(/^\//, '');
}

/** Runs `command` in node `name`'s container, with `defaults` (its user and environment) under `options`. */
export async function execInNode(name: string, container: StartedTestContainer, command: string[], options: ExecOptions, defaults: { user: string; env: Record<string, string> }): Promise<ExecRecord> {
  const started = performance.now();
  const result = await runInContainer(container, command, {
    user: options.user ?? defaults.user,
    env: { ...defaults.env, ...options.env },
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  }).catch((error: unknown) => {
    throw error instanceof CommandTimeout ? new ClusterError(`${error.message} on node '${name}'`, { cause: error }) : error;
  });
  return { node: name, command, exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, durationMs: Math.round(performance.now() - started) };
}

/** The record of a command that succeeded; a non-zero exit is a ClusterError quoting its output. */
export function succeeded(record: ExecRecord): ExecRecord {
  if (record.exitCode !== 0) {
    throw new ClusterError(`'${record.command.join(' ')}' failed on node '${record.node}' (exit ${record.exitCode}): ${(record.stderr || record.stdout).trim()}`);
  }
  return record;
}
