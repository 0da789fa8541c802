// Helpers shared by the integration tests: what Docker and the kernel still hold for a run.

import { execa } from 'execa';
import { getEngine } from '../harness/cluster/docker/engine.ts';
import { LABEL_RUN } from '../harness/cluster/docker/labels.ts';
import { listLoopDevices } from '../harness/cluster/docker/doctor.ts';

export interface Leftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
  loopDevices: string[];
}

/** Everything labelled with (or, for loop devices, backed by an image of) this run. */
export async function leftovers(runId: string): Promise<Leftovers> {
  const { docker } = await getEngine();
  const filters = JSON.stringify({ label: [`${LABEL_RUN}=${runId}`] });
  const loops = await listLoopDevices();
  return {
    containers: (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0] ?? c.Id),
    networks: (await docker.listNetworks({ filters })).map((n) => n.Name),
    volumes: ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name),
    loopDevices: loops.filter((l) => l.runId === runId).map((l) => `${l.device} ${l.backingFile}`),
  };
}

/** Loop devices are released asynchronously after their container dies: poll for a few seconds. */
export async function waitForNoLeftovers(runId: string, timeoutMs = 10_000): Promise<Leftovers> {
  const deadline = Date.now() + timeoutMs;
  let found = await leftovers(runId);
  while (Date.now() < deadline && Object.values(found).some((list) => list.length > 0)) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    found = await leftovers(runId);
  }
  return found;
}

export const nothingLeft: Leftovers = { containers: [], networks: [], volumes: [], loopDevices: [] };

/** Runs the faultline CLI in a child process, as a user would. */
export function cli(args: string[], options: { env?: Record<string, string> } = {}) {
  return execa('node', ['harness/cli.ts', ...args], { reject: false, env: options.env, all: true });
}
