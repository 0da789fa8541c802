// The workload: one client loop that every engine drives with its own open, invoke, close and
// classify (each engine's client.ts), and what every engine's workload takes and gives.
export { ClientLoop, type Classified, type Completion, type Invoked, type OpenContext, type Operation, type WorkloadClient } from './loop.ts';
export type { Workload, WorkloadOptions, WorkloadStats } from './types.ts';
