// The final state read back from the recovered cluster: with the history, all that checkers see.
// Written to final-state.json beside history.jsonl, so `faultline report` can check a run again.

import type { Millis } from './events.ts';

/** Table name to a content hash of all its rows. */
export type TableHashes = Record<string, string>;

/**
 * What one verification run shows, read from the tool's exit code and words as its manual defines
 * them: `ok` (it found no damage), `damaged` (it reports damage: a finding), `unknown` (it could not
 * tell: its own error, a timeout, nothing to check; never a pass, never a finding).
 */
export type IntegrityVerdict = 'ok' | 'damaged' | 'unknown';

/** One run of a server's own verification tool on one node (or why it could not run there). */
export interface IntegrityRun {
  tool: string;
  node: string;
  exitCode: number;
  output: string;
  /**
   * What the run shows (see IntegrityVerdict). Runs recorded before it existed have none: their
   * exit code is read instead (0 no damage; -1, the tool did not run, could not tell; else damage).
   */
  verdict?: IntegrityVerdict;
  /** With verdict `unknown`: why the tool could not tell, in its own words. */
  why?: string;
  /** The node could not be verified (and why): not a pass, not a finding. */
  skipped?: string;
  /** With `skipped`: there is nothing to verify on this node by design (a Redis node with persistence off). */
  notApplicable?: boolean;
}

/**
 * How WAL reaches the backup repository: `none` (it receives none, as behind an archive_command
 * that copies nothing), `archive_command` (each segment once it is complete: asynchronous),
 * `streamed` (pg_receivewal, without commits waiting for it: asynchronous), `synchronous`
 * (pg_receivewal as a synchronous standby: commits wait for it).
 */
export type ArchiveMode = 'none' | 'archive_command' | 'streamed' | 'synchronous';

/**
 * What a restore from the backup repository had and reached: faultline's own restore (recovery
 * or rehearsal), or a user's runbook that restored into the empty node it was given. The checkers
 * match it with the lost writes' acknowledgement times to say why they were lost.
 */
export interface RestoreEvidence {
  /** The restored node. */
  node: string;
  /** Who restored: faultline's restore, its restore rehearsal, or the user's runbook. */
  by: 'restore' | 'rehearsal' | 'runbook';
  /** The base backup restored (its label), when faultline restored it. */
  backup?: string;
  /** WAL segments the archive held from the base backup's start on (what replay could use past the backup itself). */
  walSegments?: number;
  /** The newest of them. */
  lastSegment?: string;
  /** Where replay ended (where the restored node's new timeline begins). */
  reachedLsn?: string;
  /** How WAL reaches the archive, and that in words (naming the tool). */
  archive: ArchiveMode;
  how: string;
}

/** What the archive held at the end of the run, on the final primary's timeline. */
export interface ArchiveEvidence {
  node: string;
  /** The final primary's timeline, and the WAL segment it switched to archive last. */
  timeline?: number;
  through?: string;
  /** Segments the final timeline's history needs, from the oldest segment held, that the archive lacks. */
  missing?: string[];
  /** The oldest segment the check started from. */
  from?: string;
  /** How long the last segment took to reach the archive. */
  waitedMs?: number;
  /** When the primary had not marked the last segment ready to archive and was switched again (what it showed). */
  nudged?: string;
  /** Segments of that history the archive lacks but the newest base backup holds in its own pg_wal (no hole for a restore of it). */
  inBackup?: { label: string; segments: string[] };
  /** Why the archive could not be checked or is not continuous (lost, not archived in time). */
  error?: string;
}

/** What the harness read back from the cluster after the run (gathered by the runner, checked here). */
export interface FinalState {
  /** When the final read began. */
  time: Millis;
  primary: {
    node: string;
    /** Ledger rows, key to value; absent when the primary could not be read. */
    rows?: Record<string, string>;
    /**
     * The keys of appended values (`append` operations) in the order the primary holds them: the
     * order check compares it with the order the appends were acknowledged in.
     */
    sequence?: number[];
    tables?: TableHashes;
    error?: string;
  } | null;
  /**
   * Every replica that should follow the primary: compared (tables), or why it could not be
   * (unreadable, not streaming from the primary, did not catch up).
   */
  replicas: Array<{ node: string; tables?: TableHashes; error?: string }>;
  /** Server verification tools run on every surviving node (pg_amcheck, pg_checksums, backup verification). */
  integrity: IntegrityRun[];
  /** The archive's continuity up to the end of the run; absent when the topology has no archive. */
  archive?: ArchiveEvidence;
  /**
   * A write into the ledger on the recovered primary after the run, read back through the
   * ledger's primary-key index: did the cluster accept and serve it?
   */
  probe: { ok: boolean; time: Millis; latencyMs: number; node: string; key?: number; error?: string; /** How it was read back, in words (default: through the ledger's index). */ via?: string } | null;
  /** The ledger rows the restore rehearsal's scratch node held, so the check can be recomputed from the files. */
  rehearsal?: { node: string; rows: Record<string, string> };
  /** Every restore from the backup repository in the run (recovery, rehearsal, runbook), in order. */
  restores?: RestoreEvidence[];
}
