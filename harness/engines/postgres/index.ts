// PostgreSQL clusters on Docker: start one from a topology, and reach its nodes.
export { startPostgresCluster, slotName, REHEARSAL_NODE, type StartClusterOptions } from './start-cluster.ts';
export { StartedPostgresCluster, asPostgres } from './started-cluster.ts';
export { postgresEngine } from './engine.ts';
export { takeBaseBackup } from './base-backup.ts';
export { failover } from './failover.ts';
export { rejoin } from './rejoin.ts';
export { restoreFromArchive, type RestoreOptions } from './restore.ts';
export { runRunbook, runbookContext, type RunbookOptions } from './runbook.ts';
export { ledgerRows, readFinalState, PROBE_KEY, type FinalStateOptions } from './final-state.ts';
export { archiveCurrentSegment, archiveEvidence, archivedWalDir, followPrimary, timelineOf } from './archive.ts';
export { fence, type Fencing } from '../../cluster/fence.ts';
export { PostgresNodeHandle, PGDATA, REPO, PG_PORT, type ExecRecord } from './postgres-node.ts';
