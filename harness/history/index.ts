// The operation record of a run: events, the JSONL writer and reader.
export * from './events.ts';
export { HistoryWriter, type Unstamped } from './writer.ts';
export { parseHistory, readHistory, type LoadedHistory } from './reader.ts';
export type { ArchiveEvidence, FinalState, IntegrityRun, TableHashes } from './final-state.ts';
export type { BackupSource, ProvedBackup, ProveEvidence, ProveRecord, ToolReading, UserCheckResult } from './prove-evidence.ts';
