// The drills `faultline validate` runs on the user's settings: the failures a backup configuration
// exists for, each an ordinary experiment built from the user's topology, so every check of a run
// (lost writes, restore completed, integrity, parity, archive continuity) is the evidence.

import type { ExperimentDefinition } from '../experiment/definition.ts';
import type { PostgresTopologySpec } from '../cluster/topology.ts';

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

/** The six drills, built on the user's topology (with their settings in it). */
export function validateDrills(topology: PostgresTopologySpec): ValidateDrill[] {
  const nodes = topology.postgres.nodes;
  const primary = nodes.find((n) => n.role === 'primary')!;
  const hasReplica = nodes.some((n) => n.role === 'replica');
  const hasArchive = nodes.some((n) => n.role === 'archive');
  const noReplica = hasReplica ? undefined : 'the topology has no replica to fail over to';
  const noArchive = hasArchive ? undefined : 'the topology has no archive node (role "archive") to restore from';
  const recover: Array<'failover' | 'restore'> = [...(hasReplica ? ['failover' as const] : []), ...(hasArchive ? ['restore' as const] : [])];
  const base = { topology, expect: { maxLostWrites: 0, restoreMustComplete: true } };
  const into = restoreDomain(topology);
  const drills: ValidateDrill[] = [
    {
      name: 'crash',
      title: 'the primary crashes under load and restarts (crash recovery)',
      definition: {
        ...base,
        name: 'validate-crash',
        description: 'The primary is killed under load and restarts: crash recovery must keep every acknowledged write',
        workload: { clients: 4, duration: '6s' },
        faults: [{ at: '2s', fault: 'process-crash', target: 'primary' }],
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
  ];
  return drills;
}

export const DRILL_NAMES = ['crash', 'restore', 'lagging-failover', 'stale-snapshot', 'domain-loss', 'archive-outage'];
