// `faultline prove-backup`: a user's real backup restored into a scratch node, and proved.
export { expandSource, preflight, proveBackup, type Preflight, type ProveRequest } from './run.ts';
export { proveFleet, type FleetOptions, type FleetOutcome } from './fleet.ts';
export { formatProof } from './summary.ts';
