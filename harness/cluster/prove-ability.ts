// What `faultline prove-backup` asks of an engine: to read the user's backup without touching it,
// then restore it into a scratch node and gather the evidence each check judges. The driver
// (prove/) asks an engine for this ability, never which engine it is.

import type { DockerRun } from './docker/docker-run.ts';
import type { NodeLogs } from './docker/logs.ts';
import type { TreeListing } from '../history/prove-evidence.ts';
import type { BackupSource, ProvedBackup, ProveEvidence } from '../history/prove-evidence.ts';

export type { BackupSource, ProvedBackup, ProveEvidence, ProveRecord, ToolReading, UserCheckResult } from '../history/prove-evidence.ts';

/** Where to stop replay: the newest consistent point (default), a time, or an LSN. */
export type RecoveryTarget = { kind: 'latest' } | { kind: 'time'; time: Date } | { kind: 'lsn'; lsn: string };

/** A folder or file of the user's that the scratch node sees, read-only. */
export interface ReadOnlyPath {
  /** On the machine running faultline. */
  source: string;
  /** In the scratch node. */
  target: string;
  /** What it is, for people: 'the pgBackRest repository', 'the WAL archive'. */
  what: string;
}

/** What inspecting a backup found, before anything starts. */
export interface InspectedBackup {
  source: BackupSource;
  /** The server it restores into, for people: 'PostgreSQL', 'Redis'. */
  server: string;
  /** The server's major the backup is of (from the backup itself: backup.info, PG_VERSION). */
  major: number;
  /** Where the major was read, e.g. 'backup.info (db-version)'. */
  majorFrom: string;
  /** What the backup says it needs on disk, restored (bytes), and where that figure comes from. */
  bytes: number;
  bytesFrom: string;
  /** The user's paths the scratch node mounts read-only; their listings prove them unchanged. */
  paths: ReadOnlyPath[];
  /** Repositories the node reads over the network (an S3 bucket): how to list them, before and after. */
  remote?: Array<{ what: string; where: string; list: () => Promise<TreeListing> }>;
  /** The only addresses the scratch node may reach (the repository's endpoint); none: no route out at all. */
  reach?: Array<{ host: string; port: number; what: string }>;
  /** The backup restored ('20261206-020000F'), and when it stopped. */
  backup: ProvedBackup;
  /** Engine-specific facts the proof needs (parsed configuration, the WAL layout). */
  details: Record<string, unknown>;
}

/** What the driver hands the engine for one proof. */
export interface ProveContext {
  run: DockerRun;
  /** The scratch node's failure domain (its own volume). */
  domain: string;
  target: RecoveryTarget;
  /** The user's checks file, already read. */
  checks?: { file: string; text: string };
  /** The user's database role for local connections (PostgreSQL). */
  dbUser?: string;
  /** How long the whole restore may take before it is called stalled. */
  timeoutMs: number;
  log: (line: string) => void;
  /** Phase timings are written here as they end, so a failed proof still has them. */
  phases: Record<string, number>;
}

/** The engine's part of `faultline prove-backup`. */
export interface ProveBackupAbility {
  /** The source kinds it restores, as the CLI names them. */
  readonly sources: readonly string[];
  /** The logs its scratch node keeps (kept in the proof's `logs/`). */
  readonly logs: NodeLogs;
  /**
   * One source per backup when the source names several (a list of stanzas, or '*': every stanza of
   * the configuration); a ConfigError when one of them is not there.
   */
  expand?(source: BackupSource): BackupSource[];
  /** Checks the user's checks file (SQL or commands) before anything starts; a ConfigError names the line. Returns how many checks it holds. */
  parseChecks(text: string, file: string): number;
  /**
   * Reads the user's backup without starting anything and without writing to it: its major, its
   * size, what the scratch node must mount. A path, stanza or compression that is not there or not
   * supported is a ConfigError that says which and what to do.
   */
  inspect(source: BackupSource): Promise<InspectedBackup>;
  /** The node image for the backup's major (built once). */
  image(backup: InspectedBackup, options: { log?: (line: string) => void }): Promise<string>;
  /**
   * Restores the backup into a scratch node of `context.run` (its own volume, the user's paths
   * read-only, no route out) and gathers the evidence. Never throws for what the backup does (a
   * restore that fails is evidence); throws only for faultline's own failures.
   */
  prove(backup: InspectedBackup, image: string, context: ProveContext): Promise<ProveEvidence>;
}
