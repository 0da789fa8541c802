// PostgreSQL clusters on Docker: start one from a topology, and reach its nodes.
export { slotName, REHEARSAL_NODE, type StartClusterOptions } from './start-cluster.ts';
export { StartedPostgresCluster, asPostgres } from './started-cluster.ts';
export { postgresEngine } from './engine.ts';
export { takeBaseBackup } from './base-backup.ts';
export { failover } from './failover.ts';
export { rejoin } from './rejoin.ts';
export { restoreFromArchive, type RestoreOptions } from './restore.ts';
export { postgresRunbooks, runbookContext } from './runbook.ts';
export { ledgerRows, readFinalState, PROBE_KEY, type FinalStateOptions } from './final-state.ts';
export { archiveCurrentSegment, archiveEvidence, archivedWalDir, followPrimary, timelineOf } from './archive.ts';
export { fence, type Fencing } from '../../cluster/fence.ts';
export { PostgresNodeHandle, PGDATA, REPO, PG_PORT, type ExecRecord } from './postgres-node.ts';
export { startPostgresCluster } from './engine.ts';
export { defaultTopology, postgresTopologySection, validatePostgresTopology, type PostgresTopology, type PostgresTopologySpec, type PostgresNode, type PostgresNodeSpec, type PostgresRole, type SynchronousCommit, type BackupTool } from './topology.ts';
// What `faultline validate` reads the user's configuration with.
export { simpleCommands, succeedsAlways, copyDestinations, isRemote, isNoOpCommand, isPgBackRestCommand, program, type SimpleCommand } from './archive-command.ts';
export { archiveCommandRefusal, archiveLibraryRefusal, programsOf, commandsOf, destinationsOf, withAssignments, type Destinations, type RemoteDestination } from './user-archive/programs.ts';
export { ARCHIVE_MOUNT_KINDS, type ArchiveMountKind } from './topology.ts';
export { parseStandbyNames, bareStandbyNames, type StandbyNames } from './standby-names.ts';
export { parseBoolean, parseMemory, parseTime } from './conf-values.ts';
export type { SettingMapping } from './user-settings.ts';
// Its side of the client loop (workload/), and how its driver's errors classify.
export { PostgresWorkload, LEDGER_TABLE, LEDGER_DDL, describePgError, type WorkloadTarget } from './client.ts';
export { classifyWriteError, describeNotice, isCommittedLocallyNotice, type ServerNotice } from './classify.ts';
export { postgresImage, postgresImageRecipe } from './image.ts';
export { DEFAULT_POSTGRES, TESTED_POSTGRES, POSTGRES_VERSIONS, POSTGRES_BUILDS, PG_APT_SOURCE_ENV, supportedPostgresText } from './versions.ts';
export { parsePgBackRestConf, pgBackRestOption, type PgBackRestConf, type IniValue } from './pgbackrest-conf.ts';
// Patroni: the HA manager a topology's `postgres.ha` runs, and the user's patroni.yml as validate reads it.
export { patroniTopology } from './patroni/default-topology.ts';
export { readPatroniYml, type PatroniYml, type PatroniHaSpec } from './patroni/patroni-yml.ts';
export { PROXY_NODE, patroniSettings } from './patroni/topology.ts';
