// Clients that produce operations, and the rules that classify their outcomes.
export { PostgresWorkload, LEDGER_TABLE, LEDGER_DDL, describePgError, type WorkloadOptions, type WorkloadStats, type WorkloadTarget } from './postgres-writes.ts';
export { classifyWriteError, describeNotice, isCommittedLocallyNotice, type Completion, type ServerNotice } from './classify.ts';
