// `faultline prove-backup`: a user's real backup restored into a scratch node, and proved.
export { preflight, proveBackup, type Preflight, type ProveRequest } from './run.ts';
export { proveChecks, type ProveBudgets, type UnchangedEvidence } from './checks.ts';
export { formatProof } from './summary.ts';
