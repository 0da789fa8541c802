// A backup tool of the PostgreSQL engine, as one set of hooks: how the archive node (the backup
// host) is set up, what every server's archive settings are, how a base backup is taken and
// restored, where archived WAL lies, and how the archive follows a new primary. The built-in tools
// (pg_receivewal, pgBackRest, incremental pg_basebackup) are still written inline where each step
// happens; a tool added since is a folder of its own (user-archive/, barman/) behind these hooks,
// listed in backup-tools.ts.

import type { PostgresNodeHandle } from './postgres-node.ts';
import type { PostgresTopology } from './topology.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';
import type { DockerRun } from '../../cluster/docker/docker-run.ts';
import type { ArchiveMode } from '../../history/final-state.ts';
import type { Reading } from './verification.ts';

/** What a tool's set-up gets once every node's container runs (the servers started, the archive node idle). */
export interface BackupToolSetUp {
  topology: PostgresTopology;
  run: DockerRun;
  nodes: PostgresNodeHandle[];
  primary: PostgresNodeHandle;
  archive: PostgresNodeHandle;
  log: (line: string) => void;
}

/** A backup's name, and the WAL segment it starts in when the tool says (replay needs WAL from there on). */
export interface BackupLabel {
  label: string;
  start?: string;
}

export interface BackupToolHooks {
  /** The tool's name as a topology writes it (`backupTool`). */
  readonly name: string;
  /** What a node's container needs from the start: more names on the network (the backup host's), FUSE (for mounts). */
  containerOptions(topology: PostgresTopology, role: 'archive' | 'server'): { aliases?: string[]; fuse?: boolean };
  /** postgresql.conf lines every server gets before the user's own (archive_mode, archive_command…). */
  serverConf(topology: PostgresTopology): string[];
  /**
   * Whether the primary reserves a physical replication slot named slotName(archive) for the archive
   * node from its first start (a streaming archiver uses it). The start does not wait for it to stream:
   * setUp does, if it needs to.
   */
  reservesSlot(topology: PostgresTopology): boolean;
  /**
   * Once every node's container runs and the servers have started (archive_command may already be
   * failing and retrying): the backup host itself, then on every server node (primary and replicas)
   * what it needs to run the archive_command (keys, host names, mounts, scripts). Returns a line for
   * the run's log.
   */
  setUp(context: BackupToolSetUp): Promise<string>;
  /** How WAL reaches the archive, for the restore's evidence (see restore-evidence.ts archiveModeOf). */
  archiveMode(topology: PostgresTopology, archiveName: string): { archive: ArchiveMode; how: string };
  /** A node started later (a restore's or rehearsal's) gets what prepareServer gives a server. */
  admit(cluster: StartedPostgresCluster, node: PostgresNodeHandle): Promise<void>;
  /** The directory on the archive node where archived WAL files lie (searched recursively). */
  walDir(topology: PostgresTopology): string;
  /** A full base backup of the current primary; returns what was done. */
  takeBackup(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<string>;
  /** The newest backup ('' label when there is none). */
  latestBackup(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<BackupLabel>;
  /**
   * Puts backup `latest` into the restored node's empty PGDATA, ready to start: recovery.signal,
   * a restore_command, `settings` appended to postgresql.auto.conf, a recovery target when given.
   * Returns how WAL is fetched (for the restore's sentence).
   */
  restore(cluster: StartedPostgresCluster, archive: PostgresNodeHandle, restored: PostgresNodeHandle, latest: BackupLabel, settings: string[], target?: string): Promise<string>;
  /** After a failover or restore: the archive follows the new primary. Returns what was done. */
  followPrimary(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<string>;
  /** The tool's own check of its backups (barman check, …): exit 0 when it is content; recorded beside the verdict. */
  verify?(archive: PostgresNodeHandle, topology: PostgresTopology): Promise<{ tool: string; exitCode: number; output: string; reading: Reading } | undefined>;
}
