// The fault catalog: every fault faultline can inject, by name (`faultline faults` lists them).

import { archiveGap } from './archive-gap.ts';
import { diskFull } from './disk-full.ts';
import { domainLoss } from './domain-loss.ts';
import { ioStall } from './io-stall.ts';
import { latency } from './latency.ts';
import { partition } from './partition.ts';
import { pause } from './pause.ts';
import { processCrash } from './process-crash.ts';
import { readOnly } from './read-only.ts';
import { silentCorruption } from './silent-corruption.ts';
import { staleSnapshot } from './stale-snapshot.ts';
import { volumeLoss } from './volume-loss.ts';
import { ioError } from './io-error.ts';
import { powerLoss } from './power-loss.ts';
import { managerStop } from './manager-stop.ts';
import type { FaultfsOptions } from '../cluster/docker/docker-run.ts';
import type { Fault, ParamValues } from './types.ts';

export const faults: readonly Fault[] = [
  ioStall,
  readOnly,
  diskFull,
  silentCorruption,
  staleSnapshot,
  volumeLoss,
  domainLoss,
  archiveGap,
  processCrash,
  pause,
  partition,
  latency,
  ioError,
  powerLoss,
  managerStop,
];

export function findFault(name: string): Fault | undefined {
  return faults.find((f) => f.name === name);
}

/** What faultfs mode a run's faults need: none, errors only, or un-synced data kept apart. */
export function faultfsFor(planned: Array<{ fault: string; params: ParamValues }>): FaultfsOptions | undefined {
  let needed: FaultfsOptions | undefined;
  for (const step of planned) {
    const mode = findFault(step.fault)?.faultfs?.(step.params);
    if (mode) needed = { lostWrites: (needed?.lostWrites ?? false) || mode === 'lost-writes' };
  }
  return needed;
}
