// A node of a run: its LUNs (ext4 images on failure-domain volumes, faultfs stacked on each when
// the run has it) and the container that loop-mounts them, started once it says it is ready.

import type { StartedTestContainer } from 'testcontainers';
import { Wait } from 'testcontainers';
import { ClusterError, describeError } from '../../errors.ts';
import type { DockerRun } from './docker-run.ts';
import { LABEL_NODE, resourceName, runLabels } from './labels.ts';
import { NodeContainer } from './node-container.ts';

/** One volume of a node: an ext4 image on its failure domain's Docker volume, loop-mounted in the node. */
export interface LunSpec {
  /** Short name, e.g. `data` or `repo`. */
  name: string;
  domain: string;
  /** Where the node mounts it. */
  mountPoint: string;
  bytes: number;
  /** Owner of the mounted file system's root, e.g. `postgres`. */
  owner: string;
}

/**
 * faultfs (docker/faultfs) stacked on every LUN of a run: the server then uses its volume through
 * it, and faults can make calls fail or drop what was never fsynced (`io-error`, `power-loss`).
 */
export interface FaultfsOptions {
  /** Keep un-fsynced data apart from the start, so that a power loss can drop it. */
  lostWrites: boolean;
}

/** faultfs's control socket on a node's first LUN; its other LUNs' are named after them. */
export const FAULTFS_SOCKET = '/run/faultfs.sock';

function faultfsSocket(lun: LunSpec, index: number): string {
  return index === 0 ? FAULTFS_SOCKET : `/run/faultfs-${lun.name}.sock`;
}

/** Where a LUN's ext4 file system is mounted when faultfs shows it at its mount point. */
function lowerMountPoint(lun: LunSpec): string {
  return `/var/lib/faultline/lun-${lun.name}`;
}

export interface NodeContainerSpec {
  name: string;
  image: string;
  luns: LunSpec[];
  exposedPorts: number[];
  /** More names the node answers to on the run's network (a backup host's names in the user's commands). */
  aliases?: string[];
  /** Lets the node mount FUSE file systems even without faultfs (an sshfs mount of the backup host). */
  fuse?: boolean;
  /** Folders or files of the machine running faultline, shown in the node (a user's backups, read-only). */
  binds?: Array<{ source: string; target: string; readOnly: boolean }>;
  /**
   * On the run's network only. Testcontainers creates a container that has network aliases on
   * Docker's default bridge and then connects it to the named network, which leaves it a route out
   * through the bridge; a node without aliases is created on the run's network alone.
   */
  isolated?: boolean;
}

export interface StartedNode {
  name: string;
  container: StartedTestContainer;
  luns: StartedLun[];
}

export interface StartedLun extends LunSpec {
  imagePath: string;
  /** The failure domain's Docker volume that holds the image. */
  volume: string;
  /**
   * Where the LUN's own ext4 file system is mounted: `mountPoint`, unless faultfs is stacked on it
   * (then faults that act on the file system itself, such as fsfreeze, use this path).
   */
  fsMount: string;
  /** faultfs on this LUN: the server reaches `mountPoint` through it. */
  faultfs?: FaultfsOptions & { socket: string };
}

/** Where a domain's Docker volume is mounted inside every node that has a LUN in it. */
export function domainMountPoint(domain: string): string {
  return `/domains/${domain}`;
}

/** Starts a node container of `run` with its LUNs attached; resolves once the node said it is ready (DockerRun.startNode). */
export async function startNodeContainer(run: DockerRun, spec: NodeContainerSpec): Promise<StartedNode> {
  run.checkpoint();
  const faultfs = run.faultfs;
  const luns: StartedLun[] = spec.luns.map((lun, index) => {
    // One faultfs per LUN, each with a control socket of its own.
    return {
      ...lun,
      imagePath: `${domainMountPoint(lun.domain)}/${spec.name}-${lun.name}.${run.id}.img`,
      volume: run.volumeName(lun.domain),
      fsMount: faultfs ? lowerMountPoint(lun) : lun.mountPoint,
      ...(faultfs ? { faultfs: { ...faultfs, socket: faultfsSocket(lun, index) } } : {}),
    };
  });
  const lunEnv = (l: StartedLun) =>
    [l.imagePath, l.fsMount, l.bytes, l.owner, l.faultfs ? l.mountPoint : '', l.faultfs?.lostWrites ? 'lost-writes' : 'plain', l.faultfs?.socket ?? ''].join('|');
  const container = new NodeContainer(spec.image)
    .withLoopDevices(run.engine.appArmor)
    .withName(resourceName(run.id, spec.name))
    .withHostname(spec.name)
    .withNetworkMode(run.networkName)
    .withLabels({ ...runLabels(run.id), [LABEL_NODE]: spec.name })
    .withEnvironment({
      FAULTLINE_LUNS: luns.map(lunEnv).join(';'),
    })
    .withExposedPorts(...spec.exposedPorts)
    .withWaitStrategy(Wait.forLogMessage('faultline-node: ready'))
    .withStartupTimeout(60_000);
  if (!spec.isolated) container.withNetworkAliases(spec.name, ...(spec.aliases ?? []));
  if (faultfs || spec.fuse) container.withFuse();
  if (spec.binds?.length) container.withBindMounts(spec.binds.map((b) => ({ source: b.source, target: b.target, mode: b.readOnly ? ('ro' as const) : ('rw' as const) })));
  for (const domain of new Set(luns.map((l) => l.domain))) {
    container.withNamedVolume(run.volumeName(domain), domainMountPoint(domain));
  }
  let started: StartedTestContainer;
  try {
    started = await run.track(container.start());
  } catch (error) {
    run.checkpoint();
    throw new ClusterError(`Node '${spec.name}' did not start: ${describeError(error)}`, { cause: error });
  }
  run.checkpoint();
  return { name: spec.name, container: started, luns };
}
