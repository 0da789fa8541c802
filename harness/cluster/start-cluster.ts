// One way to start a cluster, whatever its engine (as Testcontainers' GenericContainer has hooks
// around one start): the image, the run (network, domains, logs), then the engine's own steps to
// bring its nodes up, the "ready" line, and on any failure or interrupt everything removed again.

import { describeError } from '../errors.ts';
import { DockerRun } from './docker/docker-run.ts';
import type { NodeLogs } from './docker/logs.ts';
import { VOLUME_MOUNT, type Engine, type StartedCluster, type StartOptions } from './engine.ts';
import type { NodeSpec, Topology } from './topology.ts';

/** What an engine's own start steps get. */
export interface StartContext<T extends Topology> {
  engine: Engine;
  topology: T;
  run: DockerRun;
  image: string;
  log: (line: string) => void;
  /** How long followers may take to catch up. */
  readyTimeoutMs: number;
}

/** An engine's part of starting a cluster. */
export interface StartHooks<T extends Topology, C extends StartedCluster> {
  /** Which logs its nodes have (kept under the run's logs/ folder). */
  logs: NodeLogs;
  /** Said after the node count in the first line, e.g. 'Valkey'. */
  describe?: string;
  /**
   * Starts the node containers and brings their servers up until the cluster serves and every
   * follower has caught up; returns how to make the started cluster once its ready time is known.
   */
  bringUp(context: StartContext<T>): Promise<(readyMs: number) => C>;
}

/** Starts the cluster an already validated topology describes, through an engine's hooks. */
export async function startCluster<T extends Topology, C extends StartedCluster>(engine: Engine, topology: T, options: StartOptions, hooks: StartHooks<T, C>): Promise<C> {
  const log = options.log ?? (() => {});
  const startedAt = performance.now();
  const image = options.image ?? (await engine.image(topology, { log }));
  const run = await DockerRun.create(topology.domains, { runId: options.runId, faultfs: options.faultfs, logs: options.logsDir ? { dir: options.logsDir, ...hooks.logs } : undefined });
  log(`run ${run.id}: starting ${topology.nodes.length} node containers${hooks.describe ? ` (${hooks.describe})` : ''}`);
  try {
    const make = await hooks.bringUp({ engine, topology, run, image, log, readyTimeoutMs: options.readyTimeoutMs ?? 60_000 });
    run.checkpoint();
    const readyMs = Math.round(performance.now() - startedAt);
    log(`run ${run.id}: cluster ready in ${(readyMs / 1000).toFixed(1)} s`);
    return make(readyMs);
  } catch (error) {
    await run.cleanup().catch((cleanupError: unknown) => {
      // The root cause stays the error; the clean-up problem is added to it, not put in its place.
      if (error instanceof Error) error.message += `\n(and clean-up failed: ${describeError(cleanupError)})`;
    });
    throw error;
  }
}

/** Starts a node's container with its volume (its "LUN") in its failure domain, and any more it has there. */
export function startNodeContainer(
  run: DockerRun,
  image: string,
  spec: NodeSpec,
  volume: { name: string; owner: string; ports: number[]; aliases?: string[]; fuse?: boolean; more?: Array<{ name: string; mountPoint: string; bytes: number }> },
): ReturnType<DockerRun['startNode']> {
  return run.startNode({
    name: spec.name,
    image,
    exposedPorts: volume.ports,
    ...(volume.aliases?.length ? { aliases: volume.aliases } : {}),
    ...(volume.fuse ? { fuse: true } : {}),
    luns: [
      { name: volume.name, domain: spec.domain, mountPoint: VOLUME_MOUNT, bytes: spec.volumeBytes, owner: volume.owner },
      ...(volume.more ?? []).map((m) => ({ ...m, domain: spec.domain, owner: volume.owner })),
    ],
  });
}
