// `faultline doctor`: finds what crashed runs left behind (containers, networks and volumes by
// label; loop devices by the LUN image they are backed by) and, when asked, removes it. A run whose
// owning faultline process is still alive on this host is left alone unless `all` is set.

import { hostname } from 'node:os';
import { execa } from 'execa';
import { describeError } from '../../errors.ts';
import type { Engine } from './engine.ts';
import { LABEL_APP, LABEL_OWNER_HOST, LABEL_OWNER_PID, LABEL_RUN } from './labels.ts';
import { removeRunResources } from './docker-run.ts';

export interface RunLeftovers {
  runId: string;
  /** True when the faultline process that made the run is still alive on this host. */
  ownerAlive: boolean;
  containers: string[];
  networks: string[];
  volumes: string[];
}

export interface LoopLeftover {
  device: string;
  backingFile: string;
  runId: string | undefined;
}

export interface Diagnosis {
  runs: RunLeftovers[];
  loopDevices: LoopLeftover[];
  /** What the clean-up removed or could not remove, one line each. */
  actions: string[];
}

/** LUN images are named `<node>-<lun>.<runId>.img` under `/domains/<domain>/` (see docker-run.ts). */
const LUN_IMAGE = /^\/domains\/[^/]+\/[^/]+\.([0-9a-f]{8})\.img$/;

export async function listLoopDevices(): Promise<LoopLeftover[]> {
  const result = await execa('losetup', ['--json', '--list', '--output', 'NAME,BACK-FILE'], { reject: false });
  if (result.exitCode !== 0 || !result.stdout.trim()) return [];
  const parsed = JSON.parse(result.stdout) as { loopdevices?: Array<{ name: string; 'back-file': string | null }> };
  return (parsed.loopdevices ?? [])
    .map((d) => ({ device: d.name, backingFile: (d['back-file'] ?? '').replace(/ \(deleted\)$/, '') }))
    .filter((d) => LUN_IMAGE.test(d.backingFile))
    .map((d) => ({ ...d, runId: LUN_IMAGE.exec(d.backingFile)?.[1] }));
}

export async function diagnose(engine: Engine, options: { cleanup?: boolean; all?: boolean } = {}): Promise<Diagnosis> {
  const { docker } = engine;
  const filters = JSON.stringify({ label: [`${LABEL_APP}=true`] });
  const runs = new Map<string, RunLeftovers>();
  const entry = (labels: Record<string, string> | undefined): RunLeftovers | undefined => {
    const runId = labels?.[LABEL_RUN];
    if (!runId) return undefined;
    let run = runs.get(runId);
    if (!run) {
      run = { runId, ownerAlive: ownerAlive(labels), containers: [], networks: [], volumes: [] };
      runs.set(runId, run);
    }
    return run;
  };
  for (const c of await docker.listContainers({ all: true, filters })) entry(c.Labels)?.containers.push(`${c.Names[0]?.slice(1)} (${c.State})`);
  for (const n of await docker.listNetworks({ filters })) entry(n.Labels)?.networks.push(n.Name);
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) entry(v.Labels ?? undefined)?.volumes.push(v.Name);
  const loopDevices = await listLoopDevices();
  const actions: string[] = [];
  if (options.cleanup) {
    for (const run of runs.values()) {
      if (run.ownerAlive && !options.all) {
        actions.push(`kept run ${run.runId}: its faultline process is still running (use --all to remove it anyway)`);
        continue;
      }
      await removeRunResources(engine, run.runId).then(
        () => actions.push(`removed run ${run.runId}`),
        (error: unknown) => actions.push(`could not remove run ${run.runId}: ${describeError(error)}`),
      );
    }
    // Removing a run's containers releases its loop devices by itself (they are set to clear
    // automatically); only those still attached afterwards are real leaks.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const loop of await listLoopDevices()) {
      if (loop.runId && runs.get(loop.runId)?.ownerAlive && !options.all) continue;
      const result = await execa('losetup', ['-d', loop.device], { reject: false });
      actions.push(result.exitCode === 0 ? `detached ${loop.device} (${loop.backingFile})` : `could not detach ${loop.device}: ${result.stderr.trim()}`);
    }
  }
  return { runs: [...runs.values()], loopDevices, actions };
}

function ownerAlive(labels: Record<string, string> | undefined): boolean {
  const pid = Number(labels?.[LABEL_OWNER_PID]);
  if (labels?.[LABEL_OWNER_HOST] !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
