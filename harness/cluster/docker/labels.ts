// Labels on everything faultline creates in Docker, so that a run's resources can be found and
// removed by label, even after the process that made them has crashed.

export const LABEL_APP = 'dev.faultline';
export const LABEL_RUN = 'dev.faultline.run';
export const LABEL_NODE = 'dev.faultline.node';
export const LABEL_DOMAIN = 'dev.faultline.domain';
export const LABEL_OWNER_PID = 'dev.faultline.pid';
export const LABEL_OWNER_HOST = 'dev.faultline.host';

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A short, unique id for one run; it names the run's containers, network and volumes. */
export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

export function runLabels(runId: string): Record<string, string> {
  return {
    [LABEL_APP]: 'true',
    [LABEL_RUN]: runId,
    [LABEL_OWNER_PID]: String(process.pid),
    [LABEL_OWNER_HOST]: hostname(),
  };
}

export function resourceName(runId: string, part: string): string {
  return `faultline-${runId}-${part}`;
}
