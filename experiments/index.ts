// The shipped experiments, one file each; `faultline list` shows them in this order.
import type { ExperimentDefinition } from '../harness/experiment/definition.ts';
import healthy from './healthy.ts';
import ioStall from './io-stall.ts';

export const experiments: ExperimentDefinition[] = [healthy, ioStall];
