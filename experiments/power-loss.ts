// Power loss and I/O errors on PostgreSQL, through faultfs under every volume: what fsync is for,
// measured instead of assumed. The safe settings lose nothing; each unsafe one shows its loss.
// PostgreSQL's documentation of these settings:
// https://www.postgresql.org/docs/current/runtime-config-wal.html
// https://www.postgresql.org/docs/current/runtime-config-error-handling.html (data_sync_retry)

import { defineExperiment, type ScheduledStep } from '../harness/experiment/definition.ts';
import type { PostgresTopologySpec } from '../harness/engines/postgres/index.ts';
import { asPostgres } from '../harness/engines/postgres/index.ts';
import { describeError } from '../harness/errors.ts';
import { hardenedTopology } from './sidekick-hardened.ts';

/** One PostgreSQL primary on its own SAN, with these postgresql.conf settings. */
function primaryWith(settings: Record<string, string> = {}): PostgresTopologySpec {
  return { domains: ['san-a'], postgres: { nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }], settings } };
}

/**
 * A step that runs CHECKPOINT on the primary: the checkpointer writes and fsyncs the table files,
 * which is when a data-file fsync error strikes. Its failure is what the drill is about, so it is
 * reported, not raised.
 */
export function checkpointAt(at: string): ScheduledStep {
  return {
    at,
    name: 'checkpoint',
    target: 'primary',
    run: async ({ cluster }) => {
      const primary = asPostgres(cluster).primary();
      try {
        await primary.psql('CHECKPOINT');
        return 'CHECKPOINT done';
      } catch (error) {
        return `CHECKPOINT failed: ${describeError(error).split('\n').find((l) => /ERROR|PANIC|FATAL|server closed/.test(l)) ?? describeError(error).split('\n')[0]}`;
      }
    },
  };
}

const powerCut = [{ at: '3s', fault: 'power-loss', target: 'primary', duration: '500ms' }] as const;

/** With the defaults (fsync, synchronous_commit, full_page_writes on), a power loss loses nothing acknowledged. */
export const powerLoss = defineExperiment({
  name: 'power-loss',
  description: 'Cut the power under PostgreSQL with its defaults: un-fsynced data is gone, nothing acknowledged is lost',
  topology: primaryWith(),
  workload: { clients: 4, duration: '6s' },
  faults: [...powerCut],
  expect: { maxLostWrites: 0 },
});

/** fsync = off: PostgreSQL never forces anything to disk; a power loss takes acknowledged commits. */
export const powerLossFsyncOff = defineExperiment({
  name: 'power-loss-fsync-off',
  description: 'Cut the power under PostgreSQL with fsync = off: acknowledged commits are lost',
  topology: primaryWith({ fsync: 'off' }),
  workload: { clients: 4, duration: '6s' },
  faults: [...powerCut],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['lost-writes'], why: 'fsync = off: nothing reached the disk, so the power loss took commits PostgreSQL had acknowledged' },
});

/** synchronous_commit = off: a commit is acknowledged before its WAL is flushed; the last ones go. */
export const powerLossAsyncCommit = defineExperiment({
  name: 'power-loss-async-commit',
  description: 'Cut the power under PostgreSQL with synchronous_commit = off: the last acknowledged commits are lost',
  topology: primaryWith({ synchronous_commit: 'off' }),
  workload: { clients: 4, duration: '6s' },
  faults: [...powerCut],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['lost-writes'], why: 'synchronous_commit = off acknowledges a commit before its WAL is flushed (up to 3 × wal_writer_delay earlier)' },
});

/**
 * full_page_writes = off and a torn page: the power goes while table pages are being written (a
 * small shared_buffers makes every insert write pages out), and part of a page reaches the disk.
 * Without a full-page image in the WAL, recovery cannot repair it: data checksums catch it. The page
 * that shows it is one that existed at the last checkpoint and was written again since: here the
 * catalog page that records the ledger table (crash recovery must read it to replay the table's
 * creation). Pages the workload itself created are rebuilt by replay from their first record, torn
 * or not. faultfs tears, in every file with un-synced writes, one write that can be torn.
 */
export const tornPageFpwOff = defineExperiment({
  name: 'torn-page-fpw-off',
  description: 'Cut the power mid-write under PostgreSQL with full_page_writes = off: a torn page, caught by data checksums',
  topology: primaryWith({ full_page_writes: 'off', shared_buffers: '256kB' }),
  workload: { clients: 4, duration: '6s' },
  faults: [{ at: '3s', fault: 'power-loss', target: 'primary', duration: '500ms', params: { torn: 'op' } }],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['integrity'], why: 'full_page_writes = off: a page torn by the power loss has no full-page image in the WAL to be repaired from' },
});

/** The safe counterpart: the same torn write with full_page_writes on (the default) is repaired by recovery. */
export const tornPageFpwOn = defineExperiment({
  name: 'torn-page-fpw-on',
  description: 'Cut the power mid-write under PostgreSQL with full_page_writes on: recovery repairs the torn page from its full-page image',
  topology: primaryWith({ shared_buffers: '256kB' }),
  workload: { clients: 4, duration: '6s' },
  faults: [{ at: '3s', fault: 'power-loss', target: 'primary', duration: '500ms', params: { torn: 'op' } }],
  expect: { maxLostWrites: 0 },
});

/**
 * An fsync of a table file fails once (EIO). PostgreSQL does not trust a failed fsync: it PANICs,
 * and crash recovery replays the WAL, so nothing acknowledged is lost.
 */
export const fsyncError = defineExperiment({
  name: 'fsync-error',
  description: 'An fsync of a PostgreSQL table file fails with EIO: PostgreSQL PANICs, recovers from the WAL and loses nothing',
  topology: primaryWith(),
  workload: { clients: 4, duration: '7s' },
  schedule: [checkpointAt('2500ms')],
  faults: [{ at: '2s', fault: 'io-error', target: 'primary', duration: '2s', params: { op: 'fsync', path: '^pgdata/base/', count: 1, clean: 'yes' } }],
  expect: { maxLostWrites: 0 },
});

/**
 * The same failed fsync with data_sync_retry = on, on a kernel that marks the failed pages clean:
 * PostgreSQL reports an ERROR and retries; the retry succeeds without the data, the next checkpoint
 * moves the redo point past the WAL that could have repaired it, and after a crash the file holds
 * the old pages. The first file the checkpoint syncs is a catalog file: amcheck finds it damaged
 * (on PostgreSQL 15 an index; on 17 pg_attribute itself, so the ledger cannot even be read).
 */
export const fsyncErrorRetry = defineExperiment({
  name: 'fsync-error-retry',
  description: 'The same failed fsync with data_sync_retry = on: the retry "succeeds" without the data, and a crash leaves a damaged file',
  topology: primaryWith({ data_sync_retry: 'on' }),
  workload: { clients: 4, duration: '8s' },
  schedule: [checkpointAt('2500ms'), checkpointAt('4s')],
  faults: [
    { at: '2s', fault: 'io-error', target: 'primary', duration: '1s', params: { op: 'fsync', path: '^pgdata/base/', count: 1, clean: 'yes' } },
    { at: '5s', fault: 'process-crash', target: 'primary', duration: '500ms' },
  ],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['integrity'], why: 'data_sync_retry = on trusts a retried fsync, but the kernel had already dropped the pages that failed; the next checkpoint made the WAL that could repair them unnecessary' },
});

/**
 * Sidekick's SAN, the other way it can go: its controllers lose their whole cache at once, under the
 * primary and its replica together, and the database had been tuned with
 * synchronous_commit = off. The replica on the same SAN lost the same moment, so it cannot help.
 */
export const sanCacheLoss = defineExperiment({
  name: 'san-cache-loss',
  description: "Sidekick's SAN loses its whole cache under primary and replica at once (synchronous_commit = off): commits are lost",
  topology: {
    domains: ['san-a'],
    postgres: {
      nodes: [
        { name: 'pg-primary', role: 'primary', domain: 'san-a' },
        { name: 'pg-replica', role: 'replica', domain: 'san-a' },
      ],
      settings: { synchronous_commit: 'off' },
    },
  },
  workload: { clients: 4, duration: '6s' },
  faults: [{ at: '3s', fault: 'power-loss', target: 'domain:san-a', duration: '500ms' }],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['lost-writes'], why: 'the SAN lost its cache under every copy at once, and commits were acknowledged before their WAL was flushed' },
});

/** The primary, on its own SAN, with a streaming replica on another: asynchronous or synchronous. */
function primaryAndReplica(synchronous: boolean): PostgresTopologySpec {
  return {
    domains: ['san-a', 'san-b'],
    postgres: {
      nodes: [
        { name: 'pg-primary', role: 'primary', domain: 'san-a' },
        { name: 'pg-replica', role: 'replica', domain: 'san-b', synchronous },
      ],
    },
  };
}

const tornCut = [{ at: '3s', fault: 'power-loss', target: 'primary', duration: '500ms', params: { torn: 'seq' } }] as const;

/**
 * The primary loses power (part of its un-synced writes reach the disk) under an asynchronous
 * replica on another SAN: crash recovery loses nothing acknowledged, and the replica, which only
 * ever received WAL the primary had flushed, follows the restarted primary.
 */
export const powerLossAsyncReplica = defineExperiment({
  name: 'power-loss-async-replica',
  description: 'Cut the power under the primary with an asynchronous replica on another SAN: nothing acknowledged is lost and the replica follows',
  topology: primaryAndReplica(false),
  workload: { clients: 4, duration: '6s' },
  faults: [...tornCut],
  expect: { maxLostWrites: 0 },
});

/** The same power cut under a synchronous replica: commits wait for it, and it follows the restarted primary. */
export const powerLossSyncReplica = defineExperiment({
  name: 'power-loss-sync-replica',
  description: 'Cut the power under the primary with a synchronous replica on another SAN: nothing acknowledged is lost and the replica follows',
  topology: primaryAndReplica(true),
  workload: { clients: 4, duration: '6s' },
  faults: [...tornCut],
  expect: { maxLostWrites: 0 },
});

/**
 * The backup site loses power just after the fresh base backup: the backup and the archived WAL
 * were made durable when they were taken, so the restore rehearsal after a failover still restores
 * every acknowledged write. (A harness that only called syncfs on a FUSE volume would lose the
 * backup here and blame the configuration.)
 */
export const powerLossBackupSite = defineExperiment({
  name: 'power-loss-backup-site',
  description: 'The backup site loses power just after a fresh base backup: the backup survives, and a restore from it holds every acknowledged write',
  topology: hardenedTopology,
  workload: { clients: 4, duration: '6s' },
  freshBackupAt: '500ms',
  faults: [{ at: '2500ms', fault: 'power-loss', target: 'domain:backup-site', duration: '500ms' }],
  recovery: { at: '4s', try: ['failover'], restoreDomain: 'backup-site', rehearseRestore: true },
  expect: { maxLostWrites: 0, restoreMustComplete: true },
});

export const powerLossExperiments = [
  powerLoss,
  powerLossFsyncOff,
  powerLossAsyncCommit,
  tornPageFpwOff,
  tornPageFpwOn,
  fsyncError,
  fsyncErrorRetry,
  sanCacheLoss,
  powerLossAsyncReplica,
  powerLossSyncReplica,
  powerLossBackupSite,
];
