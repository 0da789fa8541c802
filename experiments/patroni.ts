// PostgreSQL under its own HA manager, Patroni: Patroni and an etcd member beside each of three
// servers, clients that write through HAProxy (which asks each member's REST API which one is the
// leader), and faultline performing no failover: it watches what Patroni does, and the checks say
// what it cost.

import { join } from 'node:path';
import { defineExperiment } from '../harness/experiment/definition.ts';
import { PACKAGE_ROOT } from '../harness/package-root.ts';
import { patroniTopology, type PostgresTopologySpec } from '../harness/engines/postgres/index.ts';
import { RSYNC_COMMAND } from './archive-command.ts';

/** The same fault on both replicas' nodes, where two of the three etcd members run (`volume: 'etcd'`: on their etcd volumes). */
function onBothReplicas(fault: string, duration: string, params?: Record<string, string>) {
  return ['pg-b', 'pg-c'].map((target) => ({ at: '3s', fault, target, duration, ...(params ? { params } : {}) }));
}

export const patroniHealthy = defineExperiment({
  name: 'patroni-healthy',
  description: 'PostgreSQL under Patroni with etcd, clients through HAProxy, no fault: every acknowledged write is there, and Patroni changes nothing',
  topology: patroniTopology(),
  workload: { clients: 4, duration: '4s', rate: 1000 },
  expect: { maxLostWrites: 0 },
});

/** The primary's whole SAN lost (its etcd member with it) under a workload that outlasts the ttl. */
function primarySanLost(synchronous: boolean) {
  return defineExperiment({
    name: `patroni-primary-san-lost-${synchronous ? 'sync' : 'async'}`,
    description: synchronous
      ? "The primary's failure domain is lost with synchronous_mode on: Patroni promotes the synchronous replica once the leader key expires (ttl 20 s), and no acknowledged write is lost"
      : "The primary's failure domain is lost with synchronous_mode off: Patroni promotes the most advanced replica once the leader key expires (ttl 20 s); writes the replicas had not received when the SAN went are lost",
    topology: patroniTopology({ synchronous_mode: synchronous }),
    workload: { clients: 4, duration: '30s', rate: 500 },
    faults: [{ at: '3s', fault: 'domain-loss', target: 'domain:san-a' }],
    expect: { maxLostWrites: 0 },
    ...(synchronous ? {} : { shows: { failing: ['lost-writes'], why: 'asynchronous replication: what the replicas had not received when the SAN went is gone', always: false } }),
  });
}

export const patroniPrimarySanLostSync = primarySanLost(true);
export const patroniPrimarySanLostAsync = primarySanLost(false);

export const patroniFrozenLeader = defineExperiment({
  name: 'patroni-frozen-leader',
  description:
    "Patroni on the primary is frozen (SIGSTOP) for 28 s while its PostgreSQL runs on, behind an HAProxy that keeps sessions to a server marked down: the leader key expires, a replica is promoted, and the clients still connected to the old primary go on writing to it until Patroni wakes, demotes it and rewinds it, discarding what it acknowledged",
  topology: patroniTopology({ haproxy: { shutdownSessions: false } }),
  workload: { clients: 4, duration: '34s', rate: 500 },
  faults: [{ at: '2s', fault: 'manager-stop', target: 'primary', duration: '28s', params: { how: 'pause' } }],
  expect: { maxLostWrites: 0 },
  shows: {
    failing: ['lost-writes', 'split-brain'],
    why: "no watchdog: a frozen Patroni cannot demote its PostgreSQL, so the old primary serves the sessions HAProxy kept open after the replica's promotion, and those writes are discarded when Patroni demotes it",
  },
});

export const patroniStalledPrimary = defineExperiment({
  name: 'patroni-stalled-primary',
  description:
    "The primary's volume stalls for 25 s, longer than the ttl (its etcd member's volume, its own, does not): Patroni's own loop never touches that volume, so it keeps renewing the leader lock and never fails over, and writes wait for as long as the stall lasts",
  topology: patroniTopology(),
  workload: { clients: 4, duration: '32s', rate: 500 },
  faults: [{ at: '2s', fault: 'io-stall', target: 'primary', duration: '25s' }],
  expect: { maxLostWrites: 0 },
});

export const patroniPrimaryPowerLossSync = defineExperiment({
  name: 'patroni-primary-power-loss-sync',
  description:
    "The primary's host loses power for 24 s (PostgreSQL, Patroni and its etcd member die, and what its volumes, PostgreSQL's and etcd's, never fsynced is gone) with synchronous_mode on: Patroni promotes the synchronous replica once the leader key expires (ttl 20 s), and when the power is back the old primary's etcd member and Patroni start on what the volume kept and it rejoins as a replica; no acknowledged write is lost",
  topology: patroniTopology({ synchronous_mode: true }),
  workload: { clients: 4, duration: '34s', rate: 500 },
  faults: [{ at: '3s', fault: 'power-loss', target: 'primary', duration: '24s' }],
  expect: { maxLostWrites: 0 },
});

export const patroniDcsPowerLoss = defineExperiment({
  name: 'patroni-dcs-power-loss',
  description:
    "The replicas' hosts, which hold two of the three etcd members, lose power for 10 s: etcd has no quorum, so the leader cannot renew its lock and demotes itself, and writes are refused; when the power is back the etcd members start on what their volumes kept (every write etcd fsynced), etcd has its quorum again, Patroni elects a leader and writes go on; no acknowledged write is lost",
  topology: patroniTopology(),
  workload: { clients: 4, duration: '30s', rate: 500 },
  faults: onBothReplicas('power-loss', '10s'),
  expect: { maxLostWrites: 0 },
});

/** The primary cut off from both replicas (and so from the etcd quorum, whose other two members are on them), not from its clients. */
function isolatedPrimary(synchronous: boolean) {
  return defineExperiment({
    name: `patroni-isolated-primary${synchronous ? '-sync' : ''}`,
    description: synchronous
      ? 'The primary is cut off from its replicas and the etcd quorum for 26 s, not from its clients, with synchronous_mode on: its commits wait for a synchronous replica it cannot reach, Patroni demotes it once it cannot renew the leader key, promotes a replica after the ttl, and no acknowledged write is lost'
      : "The primary is cut off from its replicas and the etcd quorum for 26 s, not from its clients, with synchronous_mode off: it acknowledges its clients' writes alone until Patroni demotes it (it cannot renew the leader key within retry_timeout), a replica is promoted after the ttl, and what the old primary acknowledged alone is lost when it rejoins",
    topology: patroniTopology({ synchronous_mode: synchronous }),
    workload: { clients: 4, duration: '34s', rate: 500 },
    faults: [
      { at: '3s', fault: 'partition', target: 'pg-a~pg-b', duration: '26s' },
      { at: '3s', fault: 'partition', target: 'pg-a~pg-c', duration: '26s' },
    ],
    expect: { maxLostWrites: 0 },
    ...(synchronous ? {} : { shows: { failing: ['lost-writes'], why: 'asynchronous replication: the cut-off primary acknowledges writes its replicas never receive, until Patroni demotes it' } }),
  });
}

export const patroniIsolatedPrimary = isolatedPrimary(false);
export const patroniIsolatedPrimarySync = isolatedPrimary(true);

/** The etcd volumes beside both replicas stall: etcd cannot commit. */
function dcsStalled(failsafe: boolean) {
  return defineExperiment({
    name: `patroni-dcs-stalled${failsafe ? '-failsafe' : ''}`,
    description:
      "The etcd volumes beside both replicas (two of the three members; each member's volume is its own, apart from PostgreSQL's) stall for 12 s" +
      (failsafe ? ', with failsafe_mode' : '') +
      ": etcd cannot commit while both followers' WAL writes block (a lease renewal needs no commit, Patroni's other writes do). If Patroni's writes to etcd keep failing for retry_timeout, the leader demotes itself ('DCS is not accessible') until the volumes thaw, unless failsafe_mode lets it stay primary while it reaches every member through their REST API; otherwise nothing changes. Whether a replica is promoted, how long writes are refused, and whether every acknowledged write survives",
    topology: patroniTopology({ failsafe_mode: failsafe }),
    workload: { clients: 4, duration: '30s', rate: 500 },
    faults: onBothReplicas('io-stall', '12s', { volume: 'etcd' }),
    expect: { maxLostWrites: 0 },
  });
}

export const patroniDcsStalled = dcsStalled(false);
export const patroniDcsStalledFailsafe = dcsStalled(true);

export const patroniDcsDiskFull = defineExperiment({
  name: 'patroni-dcs-disk-full',
  description:
    "The etcd volumes beside both replicas (two of the three members; each member's volume is its own, apart from PostgreSQL's) fill up for 10 s (a thin pool out of space): the members append on into preallocated WAL files until their database must grow, which ends them and etcd's quorum. What Patroni does with its DCS short of space (keep the lock, or demote the leader until the heal restarts them), and whether every acknowledged write survives",
  topology: patroniTopology(),
  workload: { clients: 4, duration: '30s', rate: 500 },
  faults: onBothReplicas('disk-full', '10s', { volume: 'etcd' }),
  expect: { maxLostWrites: 0 },
});

/** etcd loses its quorum: the members beside both replicas frozen for 14 s (SIGSTOP). */
function dcsLost(failsafe: boolean) {
  return defineExperiment({
    name: `patroni-dcs-lost${failsafe ? '-failsafe' : ''}`,
    description: failsafe
      ? 'The etcd members beside both replicas freeze for 14 s, so etcd has no quorum; with failsafe_mode the leader, still reaching every member through its REST API, stays primary and writes go on'
      : 'The etcd members beside both replicas freeze for 14 s, so etcd has no quorum; without failsafe_mode the leader cannot renew its lock and demotes itself: writes are refused until etcd is back and Patroni elects a leader again',
    topology: patroniTopology({ failsafe_mode: failsafe }),
    workload: { clients: 4, duration: '30s', rate: 500 },
    faults: onBothReplicas('manager-stop', '14s', { part: 'dcs' }),
    expect: { maxLostWrites: 0 },
  });
}

export const patroniDcsLost = dcsLost(false);
export const patroniDcsLostFailsafe = dcsLost(true);

export const patroniSwitchoverRunbook = defineExperiment({
  name: 'patroni-switchover-runbook',
  description:
    "A planned switchover under load, driven by the user's runbook with Patroni's own tool (examples/runbooks/patroni-switchover.sh: patronictl switchover to a streaming replica): Patroni stops the old primary cleanly, which sends its replicas all its WAL first, so no acknowledged write is lost",
  topology: patroniTopology(),
  workload: { clients: 4, duration: '14s', rate: 500 },
  recovery: { at: '3s', try: ['runbook'], runbook: { command: `'${join(PACKAGE_ROOT, 'examples', 'runbooks', 'patroni-switchover.sh')}'`, budget: '60s' } },
  expect: { maxLostWrites: 0 },
});

/**
 * The Sidekick topology under Patroni: three servers in three SAN domains and a backup host on a
 * site of its own, which every server's archive_command (rsync --fsync over SSH, as written) copies
 * WAL to. With `archive_mode` on, only the primary archives: a segment it completed but had not
 * copied when its SAN went is on the replicas only, and none of them archives it. `always` has
 * every server archive what it holds, and rsync --ignore-existing takes each segment once.
 */
function sidekickTopology(archiveMode: 'on' | 'always'): PostgresTopologySpec {
  const topology = patroniTopology({ synchronous_mode: true }, { backupTool: 'archive_command', archiveTimeout: '1s', settings: { archive_mode: archiveMode, archive_command: RSYNC_COMMAND } });
  topology.domains.push('backup-site');
  topology.postgres.nodes.push({ name: 'pg-archive', role: 'archive', domain: 'backup-site' });
  return topology;
}

export const patroniSidekick = defineExperiment({
  name: 'patroni-sidekick',
  description:
    "The Sidekick topology under Patroni: a fresh backup on a backup host of its own, then the primary's SAN lost with synchronous_mode on. Patroni promotes the synchronous replica, which archives on a new timeline with the user's archive_command (archive_mode = always: every server archives what it holds); a restore of the backup with the archive, rehearsed on a scratch node, holds every acknowledged write",
  topology: sidekickTopology('always'),
  workload: { clients: 4, duration: '30s', rate: 500 },
  freshBackupAt: '300ms',
  faults: [{ at: '3s', fault: 'domain-loss', target: 'domain:san-a' }],
  recovery: { at: '28s', try: [], rehearseRestore: true, restoreDomain: 'san-b' },
  expect: { maxLostWrites: 0 },
});

export const patroniExperiments = [
  patroniHealthy,
  patroniPrimarySanLostSync,
  patroniPrimarySanLostAsync,
  patroniFrozenLeader,
  patroniStalledPrimary,
  patroniPrimaryPowerLossSync,
  patroniIsolatedPrimary,
  patroniIsolatedPrimarySync,
  patroniDcsStalled,
  patroniDcsStalledFailsafe,
  patroniDcsDiskFull,
  patroniDcsLost,
  patroniDcsLostFailsafe,
  patroniDcsPowerLoss,
  patroniSwitchoverRunbook,
  patroniSidekick,
];
