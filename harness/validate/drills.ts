// The drills `faultline validate` runs on the user's settings: the failures a backup configuration
// exists for, each an ordinary experiment built from the user's topology, so every check of a run
// (lost writes, restore completed, integrity, parity, archive continuity) is the evidence.

import type { ExperimentDefinition } from '../experiment/definition.ts';
import type { PostgresTopologySpec } from '../engines/postgres/index.ts';
// The host-crash drills are the shipped power-loss experiments' faults, on the user's settings.
import { fsyncErrorRetry, powerLoss, tornPageFpwOn } from '../../experiments/power-loss.ts';

export interface ValidateDrill {
  /** Short name: `--drill` selects by it, and the run folder is named `validate-<name>`. */
  name: string;
  /** What it rehearses, in one line. */
  title: string;
  /** Why a drill cannot run on this topology (e.g. no replica to fail over to); undefined when it can. */
  unavailable?: string;
  definition: ExperimentDefinition;
}

/** Where a restored primary goes: the archive's domain if it is not the primary's, else another one. */
function restoreDomain(spec: PostgresTopologySpec): string {
  const primary = spec.postgres.nodes.find((n) => n.role === 'primary')!;
  const archive = spec.postgres.nodes.find((n) => n.role === 'archive');
  if (archive && archive.domain !== primary.domain) return archive.domain;
  return spec.domains.find((d) => d !== primary.domain) ?? primary.domain;
}

/**
 * What the torn-write drill adds, on the primary only: the torn-page experiments' small
 * shared_buffers, so the server writes table pages out all the time and the power is likely cut
 * mid-write. It changes when pages are written, not whether they are made durable: every setting
 * that decides that (fsync, full_page_writes, synchronous_commit…) runs as the user wrote it.
 */
export const TORN_WRITE_ADDITIONS: Record<string, string> = { shared_buffers: String(tornPageFpwOn.topology.postgres!.settings!.shared_buffers) };

/** The user's topology with the drill's additions as settings of the primary node, each saying where it came from. */
export function withDrillSettings(topology: PostgresTopologySpec, drill: string, additions: Record<string, string>): PostgresTopologySpec {
  const added = Object.fromEntries(Object.entries(additions).map(([name, value]) => [name, { value, source: `the ${drill} drill` }]));
  return {
    ...topology,
    postgres: {
      ...topology.postgres,
      nodes: topology.postgres.nodes.map((n) => (n.role === 'primary' ? { ...n, settings: { ...n.settings, ...added } } : n)),
    },
  };
}

/** Why the backup host's power loss is not drilled with a tool (undefined: it is). */
const BACKUP_POWER_LOSS_UNAVAILABLE: Record<string, string> = {
  pg_receivewal: "pg_receivewal on the archive node is not started again after a power loss here, as a service manager would",
  'pg_basebackup-incremental': "pg_receivewal on the archive node is not started again after a power loss here, as a service manager would",
  pgbackrest: "pgBackRest's repository server on the archive node is not started again after a power loss here, as a service manager would",
  // Measured here (experiments/barman.ts, barman-archive-power-loss) and read in Barman's source.
  barman:
    "Barman (3.13) fsyncs a new backup's files and the directories inside base/<id>/data, never the backup's own entry in base/, and faultfs keeps only what was fsynced, so this drill would lose every Barman backup; ext4 and XFS usually commit that entry with the later fsyncs, so the drill would cry wolf until faultfs models a journaling file system",
};

/**
 * The drills, built on the user's topology (with their settings in it). With an RPO budget (the
 * loss the user accepts, e.g. the unarchived tail a restore from an archive_command archive loses),
 * lost writes pass when the data they take is within it.
 */
export function validateDrills(topology: PostgresTopologySpec, options: { rpoBudgetMs?: number } = {}): ValidateDrill[] {
  const nodes = topology.postgres.nodes;
  const primary = nodes.find((n) => n.role === 'primary')!;
  const hasReplica = nodes.some((n) => n.role === 'replica');
  const hasArchive = nodes.some((n) => n.role === 'archive');
  const noReplica = hasReplica ? undefined : 'the topology has no replica to fail over to';
  const noArchive = hasArchive ? undefined : 'the topology has no archive node (role "archive") to restore from';
  const recover: Array<'failover' | 'restore'> = [...(hasReplica ? ['failover' as const] : []), ...(hasArchive ? ['restore' as const] : [])];
  const budget = options.rpoBudgetMs;
  const base = { topology, expect: { maxLostWrites: budget === undefined ? 0 : Number.MAX_SAFE_INTEGER, restoreMustComplete: true, ...(budget !== undefined ? { rpoBudget: budget } : {}) } };
  const tool = topology.postgres.backupTool ?? 'pg_receivewal';
  const into = restoreDomain(topology);
  const drills: ValidateDrill[] = [
    {
      name: 'crash',
      // Only the server's processes die: the host and its page cache live on, so what was written
      // but never fsynced survives. What it does not: the power-loss drill.
      title: "the primary's server processes are killed under load and restart (crash recovery; the host keeps its page cache)",
      definition: {
        ...base,
        name: 'validate-crash',
        description: "The primary's server processes are killed under load and restart (the host and its page cache survive): crash recovery must keep every acknowledged write",
        workload: { clients: 4, duration: '6s' },
        faults: [{ at: '2s', fault: 'process-crash', target: 'primary' }],
      },
    },
    {
      // Your settings exactly as written: fsync = off and synchronous_commit = off show as lost writes.
      name: 'power-loss',
      title: "the primary's host loses power under load: everything it never fsynced is gone",
      definition: {
        ...base,
        name: 'validate-power-loss',
        description: "The primary's host loses power under load: every write and directory entry it never fsynced is gone; it restarts on what its disk kept, and must have kept every acknowledged write",
        workload: powerLoss.workload,
        faults: powerLoss.faults,
      },
    },
    {
      // A write cut in half by the power: full_page_writes = off shows as damage, or a server that cannot start.
      name: 'torn-write',
      title: 'the primary loses power in the middle of writing a page: a torn page',
      definition: {
        ...base,
        topology: withDrillSettings(topology, 'torn-write', TORN_WRITE_ADDITIONS),
        name: 'validate-torn-write',
        description:
          `The primary's host loses power under load in the middle of a write: every write it never fsynced is gone and one is torn; it restarts on what its disk kept. ` +
          `The drill adds ${Object.entries(TORN_WRITE_ADDITIONS).map(([k, v]) => `${k} = ${v}`).join(', ')} on the primary (in place of yours) so table pages are written out often and a torn page is likely; every other setting is yours`,
        workload: tornPageFpwOn.workload,
        faults: tornPageFpwOn.faults,
      },
    },
    {
      name: 'fsync-error',
      title: 'an fsync of a table file fails once (EIO), checkpoints follow, then the primary crashes',
      definition: {
        ...base,
        name: 'validate-fsync-error',
        description:
          "An fsync of one of the primary's table files fails once with EIO and the kernel drops the pages that failed (as Linux does); CHECKPOINTs follow, then the primary crashes and recovers from its WAL",
        workload: fsyncErrorRetry.workload,
        schedule: fsyncErrorRetry.schedule,
        faults: fsyncErrorRetry.faults,
      },
    },
    {
      name: 'restore',
      title: "the primary's volume is lost: restore from the latest backup plus the archive",
      unavailable: noArchive,
      definition: {
        ...base,
        name: 'validate-restore',
        description: "The primary's volume is lost; a new primary is restored from the latest backup and the WAL archive",
        workload: { clients: 4, duration: '7s' },
        freshBackupAt: '300ms',
        faults: [{ at: '3s', fault: 'volume-loss', target: 'primary' }],
        recovery: { at: '3500ms', try: ['restore'], restoreDomain: into },
      },
    },
    {
      name: 'lagging-failover',
      title: 'failover under load after the replica fell behind',
      unavailable: noReplica,
      definition: {
        ...base,
        name: 'validate-lagging-failover',
        description: 'The replica is cut off for 2 s under load, then the primary dies and the replica is promoted',
        workload: { clients: 4, duration: '6s' },
        faults: [
          { at: '1s', fault: 'partition', target: 'primary~replica', duration: '2s', disruptive: false },
          { at: '2500ms', fault: 'process-crash', target: 'primary', params: { restart: 'no' } },
        ],
        recovery: { at: '3s', try: ['failover'] },
      },
    },
    {
      name: 'stale-snapshot',
      title: "the primary's volume is rolled back to a stale snapshot",
      unavailable: recover.length === 0 ? 'the topology has neither a replica nor an archive to recover from' : undefined,
      definition: {
        ...base,
        name: 'validate-stale-snapshot',
        description: "The primary's volume comes back as it was 2 s earlier and its server stays down; operators recover from what else holds the data",
        workload: { clients: 4, duration: '7s' },
        ...(hasArchive ? { freshBackupAt: '300ms' } : {}),
        // The rolled-back server is not started again: restarted on old data it would serve, and
        // stream WAL that diverges from what its replica and archive already hold.
        faults: [{ at: '1500ms', fault: 'stale-snapshot', target: 'primary', duration: '2s', params: { restart: 'no' } }],
        recovery: { at: '4s', try: recover, restoreDomain: into },
      },
    },
    {
      name: 'domain-loss',
      title: `the primary's whole failure domain ('${primary.domain}') is lost, with everything in it`,
      unavailable: recover.length === 0 ? 'the topology has neither a replica nor an archive to recover from' : undefined,
      definition: {
        ...base,
        name: 'validate-domain-loss',
        description: "The primary's failure domain is lost with every volume in it; operators fail over or restore",
        workload: { clients: 4, duration: '7s' },
        ...(hasArchive ? { freshBackupAt: '300ms' } : {}),
        faults: [{ at: '3s', fault: 'domain-loss', target: `domain:${primary.domain}` }],
        recovery: { at: '3500ms', try: recover, restoreDomain: into },
      },
    },
    {
      name: 'archive-outage',
      title: 'the archive host is down for a while, then the primary is lost (GitLab, 2017)',
      unavailable: noArchive,
      definition: {
        ...base,
        name: 'validate-archive-outage',
        description: 'The archive host hangs for 2 s under load, then the primary is lost; operators fail over or restore',
        workload: { clients: 4, duration: '7s' },
        freshBackupAt: '300ms',
        faults: [
          { at: '1s', fault: 'pause', target: 'archive', duration: '2s', disruptive: false },
          { at: '3500ms', fault: 'volume-loss', target: 'primary' },
        ],
        recovery: { at: '4s', try: recover, restoreDomain: into },
      },
    },
    {
      name: 'backup-power-loss',
      title: 'the backup host loses power right after WAL was archived; a restore rehearsal proves what the archive kept',
      unavailable: noArchive ?? BACKUP_POWER_LOSS_UNAVAILABLE[tool],
      definition: {
        ...base,
        name: 'validate-backup-power-loss',
        description: 'The backup host loses power under load, right after WAL segments were archived: whatever it had not made durable is gone; after the workload a restore rehearsal restores the backup and the archive into a scratch node',
        workload: { clients: 4, duration: '6s' },
        freshBackupAt: '300ms',
        faults: [{ at: '2500ms', fault: 'power-loss', target: 'archive' }],
        recovery: { at: '4500ms', try: [], rehearseRestore: true, restoreDomain: into },
      },
    },
  ];
  return drills;
}

export const DRILL_NAMES = ['crash', 'power-loss', 'torn-write', 'fsync-error', 'restore', 'lagging-failover', 'stale-snapshot', 'domain-loss', 'archive-outage', 'backup-power-loss'];
