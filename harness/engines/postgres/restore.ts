// Restore: a new primary from the latest base backup plus the WAL archive (pg_receivewal's or
// pgBackRest's), checked against the archive's end; surviving replicas then follow it.

import { ClusterError, describeError } from '../../errors.ts';
import type { RestoreEvidence } from '../../history/final-state.ts';
import { waitFor } from '../../wait.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';
import type { RestoreOptions as EngineRestoreOptions } from '../../cluster/engine.ts';
import { PG_PORT, PGDATA, PostgresNodeHandle, REPO, VOLUME_MOUNT, withClient } from './postgres-node.ts';
import { REHEARSAL_NODE, RESTORED_NODE } from './start-cluster.ts';
import { latestPgBackRestBackup, pgTimestamp, restoreWithPgBackRest } from './pgbackrest-restore.ts';
import { compareLsn, findArchiveGap, parseTimelineHistory, type TimelineSwitch } from './wal.ts';
import { archiveModeOf, recordRestore, walPastBackup } from './restore-evidence.ts';
import { archivedFiles } from './archive.ts';
import { fence } from '../../cluster/fence.ts';
import { pipeBetween } from '../../cluster/docker/pipe.ts';
import { BASE, backupsTaken, usableArchive } from './base-backup.ts';
import { repoint } from './failover.ts';
import { COMBINED, combineChain } from './incremental.ts';
import { rebuildAsReplica } from './rejoin.ts';
import { backupToolHooks } from './backup-tools.ts';
import { CUSTOM_CONF } from './patroni/conf.ts';

const RESTORE_WAL = `${VOLUME_MOUNT}/restore-wal`;
const INCOMING = `${VOLUME_MOUNT}/incoming`;

/** The engine's restore options (domain, point in time), and PostgreSQL's own. */
export interface RestoreOptions extends EngineRestoreOptions {
  /** Name of the new node. Default `pg-restored`. */
  name?: string;
  /** How long replay may take. Default 120 s. */
  timeoutMs?: number;
  /**
   * A rehearsal: the restored node does not become the primary, and it archives nothing, so that
   * it cannot write into the repository it was restored from. Its default name is `pg-rehearsal`.
   */
  rehearsal?: boolean;
  /** An empty node already being started (startEmptyNode) to restore into, instead of starting one. */
  into?: Promise<PostgresNodeHandle>;
}

/**
 * Point-in-time restore to the end of the archive: a new node in `domain` gets the latest base
 * backup and every archived WAL segment (including the one pg_receivewal was still writing),
 * replays them, and is promoted at the end of the WAL. The old primary is fenced first (unless
 * this is a rehearsal); the restored node becomes the cluster's primary.
 */
export async function restoreFromArchive(cluster: StartedPostgresCluster, options: RestoreOptions): Promise<string> {
  const archive = usableArchive(cluster);
  if (!cluster.topology.domains.includes(options.domain)) {
    throw new ClusterError(`cannot restore into domain '${options.domain}': the topology declares ${cluster.topology.domains.join(', ')}`);
  }
  const pgbackrest = cluster.topology.postgres.backupTool === 'pgbackrest';
  const hooks = backupToolHooks(cluster.topology);
  // With incremental backups, the chain is combined first (as an operator would, before touching anything).
  const chain = cluster.topology.postgres.incremental ? await combineChain(cluster, archive) : undefined;
  const backup = hooks
    ? await hooks.latestBackup(cluster, archive)
    : pgbackrest
    ? await latestPgBackRestBackup(archive)
    : { label: chain ? chain.label : (await archive.exec(['bash', '-c', `ls -1 ${BASE} 2>/dev/null | sort | tail -n 1`])).stdout.trim() };
  const latest = backup.label;
  const base = chain ? COMBINED : BASE;
  if (!latest) {
    // What the run itself did says which: a backup it took and that is gone, or none taken.
    const took = backupsTaken(cluster);
    throw new ClusterError(
      took.length > 0
        ? `no completed base backup in the repository on '${archive.name}': this run took ${took.join(', ')} and it is no longer there (lost with the repository's storage?)`
        : `no completed base backup in the repository on '${archive.name}': none was taken before the failure (the step Sidekick skipped), or it had not finished`,
    );
  }

  const previous = cluster.primary();
  // The old primary is fenced before the restore begins, as an operator would: whatever it still
  // acknowledged after the archive was read would otherwise be lost, and two primaries would serve.
  let fenced = '';
  if (!options.rehearsal) {
    const fencing = await fence(cluster, previous);
    fenced = fencing.fenced ? `; ${previous.name} fenced first: ${fencing.how}` : `; ${previous.name} NOT fenced: ${fencing.how}`;
  }
  const restored = options.into
    ? adoptNode(cluster, await options.into)
    : await prepareEmptyNode(cluster, options.name ?? (options.rehearsal ? REHEARSAL_NODE : RESTORED_NODE), options.domain);
  // What the archive holds past the backup, counted before the copy: the evidence for what the
  // restore can bring back (none at all behind an archive_command that copies nothing).
  const wal = await walPastBackup(cluster, archive, latest, backup.start, base);
  // What the archive holds as the restore begins is what replay is judged against: a primary still in
  // service (a rehearsal's) goes on archiving, and what arrives after the copy is not this restore's.
  const held = await archivedFiles(cluster, archive);
  const evidence = recordRestore(cluster, { node: restored.name, by: options.rehearsal ? 'rehearsal' : 'restore', backup: latest, walSegments: wal.count, ...(wal.last ? { lastSegment: wal.last } : {}), ...archiveModeOf(cluster) });
  // A restored server must not wait for standbys it does not have, nor stream from the old primary;
  // a rehearsal must not push its own WAL into the repository either.
  const settings = ["synchronous_standby_names = ''", "primary_conninfo = ''", "primary_slot_name = ''", ...(options.rehearsal ? ["archive_mode = 'off'"] : [])];
  let fetched = '';
  if (hooks) {
    await hooks.admit(cluster, restored);
    fetched = await hooks.restore(cluster, archive, restored, backup, settings, options.targetTime ? pgTimestamp(options.targetTime) : undefined);
  } else if (pgbackrest) {
    await restoreWithPgBackRest(cluster, archive, restored, settings, options.targetTime);
  } else {
    await restoreFromStreamedArchive(archive, restored, latest, settings, options.targetTime, base);
    if (chain) await archive.exec(['rm', '-rf', COMBINED], { user: 'root' }); // copied: the space is the repository's
  }
  // A Patroni member's backup holds the postgresql.conf Patroni wrote, which includes the settings
  // file beside the data directory (custom_conf): it is put back as the members have it.
  if (cluster.patroni) {
    await restored.run(['bash', '-c', `printf '%s\\n' "$1" >${CUSTOM_CONF} && chown postgres:postgres ${CUSTOM_CONF}`, 'conf', cluster.patroni.customConf], { user: 'root' });
    fetched = [fetched, `${CUSTOM_CONF}, which Patroni's postgresql.conf in the backup includes, written as on the members`].filter(Boolean).join('; ');
  }
  const until = options.targetTime ? ` up to ${pgTimestamp(options.targetTime)}` : '';
  const source =
    wal.count === 0
      ? `base backup ${latest} alone: the archive on ${archive.name} held no WAL segment after it (${evidence.how})`
      : `${chain ? chain.description : `base backup ${latest}`} and the WAL archive of ${archive.name}${pgbackrest ? ' (pgBackRest)' : ''}${fetched ? ` (${fetched})` : ''}${until}`;
  return finishRestore(cluster, restored, options, source, fenced, evidence, held);
}

/**
 * A new node with an empty data volume in `domain`, listed in the cluster but serving nothing (it
 * is not the primary until a restore made it one): what a restore, a rehearsal or a user's runbook
 * restores into.
 */
export async function prepareEmptyNode(cluster: StartedPostgresCluster, name: string, domain: string): Promise<PostgresNodeHandle> {
  return adoptNode(cluster, await startEmptyNode(cluster, name, domain));
}

/**
 * Starts that node without listing it in the cluster yet (adoptNode does): the restore rehearsal's
 * scratch node is started while the workload's last seconds run, and taken when the rehearsal begins.
 */
export async function startEmptyNode(cluster: StartedPostgresCluster, name: string, domain: string): Promise<PostgresNodeHandle> {
  const template = cluster.nodes.find((n) => n.spec.role === 'primary') ?? cluster.nodes[0]!;
  const started = await cluster.run.startNode({
    name,
    image: cluster.image,
    exposedPorts: [PG_PORT],
    ...backupToolHooks(cluster.topology)?.containerOptions(cluster.topology, 'server'),
    luns: [{ name: 'data', domain, mountPoint: VOLUME_MOUNT, bytes: template.spec.volumeBytes, owner: 'postgres:postgres' }],
  });
  const spec = { name, role: 'primary' as const, domain, volumeBytes: template.spec.volumeBytes, synchronous: false, settings: [] };
  const node = new PostgresNodeHandle(started, spec, String(template.clientConfig().password));
  node.role = 'retired'; // not the primary until its replay ended
  return node;
}

/** Lists a node startEmptyNode started among the cluster's nodes. */
function adoptNode(cluster: StartedPostgresCluster, node: PostgresNodeHandle): PostgresNodeHandle {
  cluster.nodes.push(node);
  return node;
}

/** The base backup and the streamed WAL segments replay can ask for, copied from the repository node. */
async function restoreFromStreamedArchive(archive: PostgresNodeHandle, restored: PostgresNodeHandle, latest: string, settings: string[], target: Date | undefined, base: string): Promise<void> {
  const targetConf = target ? ` "recovery_target_time = '${pgTimestamp(target)}'" "recovery_target_action = 'promote'"` : '';
  // The base backup and the WAL archive stream from the repository node into the new node's volume
  // (tar to tar, through lz4: the stream goes through the Docker engine twice, and WAL segments are
  // mostly zeros until filled), and are moved into place there. Only the WAL that replay can ask for goes:
  // segments from the backup's start (backup_label names it) on, of any timeline, and the timeline
  // histories. pg_receivewal may still be writing its current segment: tar's exit 1 ('file changed
  // as we read it') is taken as a copy of that moment, as cp would have made.
  const send =
    `export LC_ALL=C; cd ${REPO}; ` +
    `start=$(sed -n 's/^START WAL LOCATION: .*(file \\([0-9A-F]\\{24\\}\\)).*/\\1/p' ${base}/${latest}/backup_label 2>/dev/null); ` +
    `files=(); for f in wal/*; do n=\${f#wal/}; [ -f "$f" ] || continue; ` +
    `if [[ $n == *.history || -z $start || ! $n =~ ^[0-9A-F]{24} || ! \${n:8:16} < \${start:8:16} ]]; then files+=("$f"); fi; done; ` +
    // With no WAL to send (an archive that never received any), the backup goes alone: a trailing
    // '-C dir' with no file after it is an error to tar.
    `args=(-C ${base} ${latest}); [ \${#files[@]} -gt 0 ] && args+=(-C ${REPO} "\${files[@]}"); ` +
    `tar -c --warning=no-file-changed "\${args[@]}" | lz4 -1 -q -c; t=\${PIPESTATUS[0]} z=\${PIPESTATUS[1]}; ` +
    `[ $t -eq 1 ] && t=0; [ $t -ne 0 ] && exit $t; exit $z`;
  await pipeBetween(
    { container: archive.container, name: archive.name, command: ['bash', '-c', send], what: `tar (lz4) of base backup ${latest} and the WAL archive` },
    { container: restored.container, name: restored.name, command: ['bash', '-c', `set -o pipefail; rm -rf ${INCOMING} && mkdir -p ${INCOMING} && lz4 -d -q -c | tar -x -C ${INCOMING}`], what: `lz4 -d | tar -x into ${INCOMING}` },
  );
  await restored.run(
    [
      'bash',
      '-c',
      `set -e; mkdir -p ${INCOMING}/wal; mv ${INCOMING}/${latest} ${PGDATA}; mv ${INCOMING}/wal ${RESTORE_WAL}; rmdir ${INCOMING}; ` +
        // The segment pg_receivewal was still writing holds the newest commits: replay it too.
        `for f in ${RESTORE_WAL}/*.partial; do [ -e "$f" ] && mv "$f" "\${f%.partial}"; done; ` +
        `rm -f ${PGDATA}/standby.signal; touch ${PGDATA}/recovery.signal; ` +
        `printf "%s\\n" "restore_command = 'cp ${RESTORE_WAL}/%f %p'" "recovery_target_timeline = 'latest'" ` +
        `${settings.map((line) => `"${line}"`).join(' ')}${targetConf} >> ${PGDATA}/postgresql.auto.conf; ` +
        `chown -R postgres:postgres ${PGDATA} ${RESTORE_WAL}; chmod 700 ${PGDATA}; fl-sync ${PGDATA}`,
    ],
    { user: 'root' },
  );
}

/**
 * Starts the restored node and waits for it to replay to the end of the archive and promote. Then
 * checks that replay really reached the end of what the archive held as the restore began (`held`):
 * PostgreSQL takes the first WAL segment it cannot get or read for the end of the archive and
 * promotes without a word, so a hole in the chain would otherwise pass for a complete restore. Such a restore fails, with the hole named; the
 * restored server stays the primary (it is what the operator has), and the ledger counts what it
 * lacks.
 */
async function finishRestore(cluster: StartedPostgresCluster, restored: PostgresNodeHandle, options: RestoreOptions, source: string, took: string, evidence: RestoreEvidence, held: string[]): Promise<string> {
  const name = restored.name;
  const timeoutMs = options.timeoutMs ?? 120_000;
  await restored.startServer();
  const logTail = async () => (await restored.exec(['tail', '-n', '15', '/var/log/faultline/postgresql.log'])).stdout.trim();
  let stopped = false;
  await waitFor(
    { what: `${name} to finish replaying the archive`, timeoutMs, intervalMs: 50, error: (message) => new ClusterError(message) },
    async (seen) => {
      const inRecovery = await restored.psql('SELECT pg_is_in_recovery()').catch((error: unknown) => `error: ${describeError(error)}`);
      seen(inRecovery === 't' ? 'still in recovery' : inRecovery);
      if (inRecovery === 'f') return true;
      // A server that gave up (WAL missing before the backup is consistent, a damaged backup) will
      // not come back by itself: say so now, with its reason, instead of at the deadline.
      if (inRecovery.startsWith('error:') && !(await restored.serverRunning())) {
        stopped = true;
        return true;
      }
      return undefined;
    },
  ).catch(async (error: unknown) => {
    throw new ClusterError(`${describeError(error)}; its log ends:\n${await logTail()}`);
  });
  if (stopped) throw new ClusterError(`${name} stopped while replaying ${source}; its log ends:\n${await logTail()}`);
  if (!options.rehearsal) cluster.setPrimary(restored);
  if (options.targetTime) return `restored ${name} in ${options.domain} from ${source}${took}${await followRestored(cluster, options)}`; // it stopped where told
  const ended = await replayEnd(restored);
  evidence.reachedLsn = ended.lsn;
  const gap = findArchiveGap(ended.lsn, ended.timeline, held, ended.segmentBytes, ended.history)?.reason;
  if (gap) throw new ClusterError(`${name} was restored from ${source} and promoted, but it is incomplete: ${gap}; writes after that point are not on ${name}${took}`);
  const reached = evidence.walSegments === 0 ? `replay ended where the backup ends, at ${ended.lsn}` : `replay reached the end of the archive at ${ended.lsn}`;
  return `restored ${name} in ${options.domain} from ${source}; ${reached}${took}${await followRestored(cluster, options, ended.lsn)}`;
}

/**
 * Surviving replicas follow the restored primary, as after a failover: one whose WAL went past the
 * point the restore forked from cannot, and is reported orphaned (replica parity then fails).
 */
async function followRestored(cluster: StartedPostgresCluster, options: RestoreOptions, fork?: string): Promise<string> {
  if (options.rehearsal) return '';
  const parts: string[] = [];
  for (const replica of cluster.replicas()) {
    // A replica that received WAL past the fork holds a history the restored primary does not:
    // it is rewound (or re-cloned), as an operator rebuilds replicas after a restore.
    const position = await replica.psql('SELECT greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())').catch(() => '');
    if (fork && position && compareLsn(position, fork) <= 0) {
      parts.push(await repoint(cluster, replica));
      continue;
    }
    try {
      parts.push(`${replica.name} rebuilt as a replica of ${cluster.primary().name} by ${await rebuildAsReplica(cluster, replica, 30_000)}${position ? ` (it had WAL up to ${position}${fork ? `, past the fork at ${fork}` : ''})` : ''}`);
    } catch (error) {
      parts.push(`${replica.name} ORPHANED (could not be rebuilt from ${cluster.primary().name}: ${describeError(error)})`);
    }
  }
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
}

/**
 * Where replay ended, from the history file the promotion wrote: its last line is the timeline
 * that was replayed and the position where the new one branched off; the lines before it are that
 * timeline's own history.
 */
export async function replayEnd(restored: PostgresNodeHandle): Promise<{ timeline: number; lsn: string; segmentBytes: number; history: TimelineSwitch[] }> {
  const { name, text, segmentBytes } = await withClient(restored, async (client) => {
    const size = await client.query<{ bytes: string }>("SELECT pg_size_bytes(current_setting('wal_segment_size'))::text AS bytes");
    const segmentBytes = Number(size.rows[0]!.bytes);
    const newest = await client.query<{ name: string }>("SELECT name FROM pg_ls_waldir() WHERE name LIKE '%.history' ORDER BY name DESC LIMIT 1");
    const file = newest.rows[0]?.name;
    if (!file) return { name: '*.history', text: '', segmentBytes };
    return { name: file, text: (await client.query<{ text: string }>('SELECT pg_read_file($1) AS text', [`pg_wal/${file}`])).rows[0]!.text, segmentBytes };
  });
  let lines: TimelineSwitch[] = [];
  try {
    lines = parseTimelineHistory(text);
  } catch {
    // reported below with what was read
  }
  const last = lines.at(-1);
  if (!last) throw new ClusterError(`${restored.name} was promoted but its timeline history (pg_wal/${name}) does not say where replay ended: ${JSON.stringify(text)}`);
  return { timeline: last.parent, lsn: last.switchLsn, segmentBytes, history: lines.slice(0, -1) };
}
