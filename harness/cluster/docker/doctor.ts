// `faultline doctor`: finds what crashed runs left behind (containers, networks and volumes by
// label; loop devices by the LUN image they are backed by) and, when asked, removes it. A run whose
// owning faultline process is still alive on this host is left alone unless `all` is set.

import { hostname } from 'node:os';
import { describeError } from '../../errors.ts';
import type { Engine } from './engine.ts';
import { LABEL_APP, LABEL_OWNER_HOST, LABEL_OWNER_PID, LABEL_RUN } from './labels.ts';
import { listLoopDevices, releaseLoopDevices, type LoopLeftover } from './loop-devices.ts';
import { removeRunResources } from './removal.ts';

export { listLoopDevices, type LoopLeftover };

export interface RunLeftovers {
  runId: string;
  /** True when the faultline process that made the run is still alive on this host. */
  ownerAlive: boolean;
  containers: string[];
  networks: string[];
  volumes: string[];
}

export interface Diagnosis {
  runs: RunLeftovers[];
  loopDevices: LoopLeftover[];
  /** What the clean-up removed or could not remove, one line each. */
  actions: string[];
}

/**
 * Lists what faultline runs left behind and, with `cleanup`, removes it the way a run's own clean-up
 * does (removeRunResources): a volume a crashed run left frozen is thawed before its container is
 * killed, from outside the container when Docker cannot enter it any more (a kill already tried), so
 * a process stuck on it can die; then loop devices still attached are detached.
 */
export interface DiagnoseOptions {
  /** Remove what is found (else only list it). */
  cleanup?: boolean;
  /** Also runs whose faultline process is still alive. */
  all?: boolean;
  /** Only this run (and its loop devices). */
  only?: string;
}

export async function diagnose(engine: Engine, options: DiagnoseOptions = {}): Promise<Diagnosis> {
  const { docker } = engine;
  const filters = JSON.stringify({ label: [`${LABEL_APP}=true`] });
  const runs = new Map<string, RunLeftovers>();
  const entry = (labels: Record<string, string> | undefined): RunLeftovers | undefined => {
    const runId = labels?.[LABEL_RUN];
    if (!runId || (options.only !== undefined && runId !== options.only)) return undefined;
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
  const ours = (loop: LoopLeftover) => options.only === undefined || loop.runId === options.only;
  const loopDevices = (await listLoopDevices()).filter(ours);
  const actions: string[] = [];
  if (options.cleanup) {
    for (const run of runs.values()) {
      if (run.ownerAlive && !options.all) {
        actions.push(`kept run ${run.runId}: its faultline process is still running (use --all to remove it anyway)`);
        continue;
      }
      await removeRunResources(engine, run.runId, { log: (line) => actions.push(`run ${run.runId}: ${line}`) }).then(
        () => actions.push(`removed run ${run.runId}`),
        (error: unknown) => actions.push(`could not remove run ${run.runId}: ${describeError(error)}`),
      );
    }
    // Loop devices of runs that have nothing left in Docker (removing a run released its own): one
    // never mounted, or one holding a file system left frozen with no mount (releaseLoopDevices).
    const loopRuns = new Set((await listLoopDevices()).filter(ours).map((loop) => loop.runId));
    for (const runId of loopRuns) {
      if (!runId || (runs.get(runId)?.ownerAlive && !options.all)) continue;
      for (const problem of await releaseLoopDevices(runId, (line) => actions.push(line))) actions.push(`could not release ${problem}`);
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
