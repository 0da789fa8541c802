// 'faultline doctor': find what crashed runs left behind (containers, networks, volumes, loop
// devices), and with --cleanup remove it.

import { diagnose, getEngine } from '../cluster/docker/index.ts';
import { parse, type Command } from './options.ts';

export const usage = "faultline doctor [--cleanup] [--all]\n\nLists what crashed runs left behind (containers, networks, volumes, loop devices).\n  --cleanup  remove it (runs whose faultline process still runs are kept)\n  --all      with --cleanup: remove those too";

export const command: Command = async (args) => {
  const { values } = parse(args, { cleanup: { type: 'boolean' }, all: { type: 'boolean' } }, 'doctor');
  const result = await diagnose(await getEngine(), { cleanup: values.cleanup, all: values.all });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (result.runs.length === 0 && result.loopDevices.length === 0) out('Nothing left behind: no faultline containers, networks, volumes or loop devices.');
  for (const run of result.runs) {
    out(`run ${run.runId} (${run.ownerAlive ? 'its faultline process is running' : 'left behind'}):`);
    for (const c of run.containers) out(`  container ${c}`);
    for (const n of run.networks) out(`  network   ${n}`);
    for (const v of run.volumes) out(`  volume    ${v}`);
  }
  for (const loop of result.loopDevices) out(`loop device ${loop.device} -> ${loop.backingFile}`);
  for (const action of result.actions) out(action);
  if (!values.cleanup && (result.runs.length > 0 || result.loopDevices.length > 0)) out("Run 'faultline doctor --cleanup' to remove what is left behind.");
  return 0;
};
