// What operators do after a failure, on a real cluster: take a fresh base backup, fail over to a
// replica, or restore a new primary from the latest base backup plus the WAL archive. Each action
// returns a line saying what it did, or throws a ClusterError saying why it could not be done.

import type { Readable } from 'node:stream';
import { ClusterError, describeError } from '../../errors.ts';
import { waitFor } from '../../wait.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';
import { PG_PORT, PGDATA, PostgresNodeHandle, REPO, VOLUME_MOUNT, withClient } from './postgres-node.ts';
import { pgBackRestNode, REHEARSAL_NODE, RESTORED_NODE, slotName } from './start-cluster.ts';
import { compareLsn, findArchiveGap, parseTimelineHistory, type TimelineSwitch } from './wal.ts';
import { verifyPgBackRest } from './pgbackrest-verify.ts';
import { archivedWalDir, followPrimary } from './archive.ts';
import { fence } from './fence.ts';

const BASE = `${REPO}/base`;
const RESTORE_WAL = `${VOLUME_MOUNT}/restore-wal`;

function usableArchive(cluster: StartedPostgresCluster): PostgresNodeHandle {
  const archive = cluster.archive();
  if (!archive) throw new ClusterError('the topology has no archive node, so there is no backup repository');
  if (archive.lost) throw new ClusterError(`the backup repository on '${archive.name}' was lost (domain ${archive.spec.domain})`);
  return archive;
}

/**
 * Takes a base backup of the current primary into the repository (`base/<time>` on the archive
 * node's volume), then checks it with pg_verifybackup. The step the Sidekick operators skipped.
 */
export async function takeBaseBackup(cluster: StartedPostgresCluster): Promise<string> {
  const archive = usableArchive(cluster);
  const primary = cluster.primary();
  if (cluster.topology.postgres.backupTool === 'pgbackrest') {
    await archive.run(['pgbackrest', '--stanza=main', '--type=full', 'backup']);
    const verified = await verifyPgBackRest(archive);
    if (verified.exitCode !== 0) throw new ClusterError(`the repository does not verify after the backup: ${verified.output.split('\n')[0]}`);
    return `pgBackRest full backup of ${primary.name} in the repository on ${archive.name}, checked by pgbackrest verify`;
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const dir = `${BASE}/${stamp}`;
  await archive.run(['bash', '-c', `mkdir -p ${BASE} && pg_basebackup -h ${primary.name} -U postgres -D ${dir} -X stream -c fast --no-sync && sync -f ${BASE}`]);
  const verified = await archive.exec(['pg_verifybackup', '-n', dir]);
  if (verified.exitCode !== 0) throw new ClusterError(`the new base backup ${dir} does not verify: ${verified.stderr.trim() || verified.stdout.trim()}`);
  return `base backup of ${primary.name} in ${archive.name}:${dir}, verified by pg_verifybackup`;
}

/**
 * Fails over: fences the old primary (kills its server and proves it gone, or says it could not),
 * promotes the surviving replica that received and flushed the most WAL (it replays all of it
 * before it takes writes), checks that the promotion happened, and clears
 * synchronous_standby_names on it so that it does not wait for standbys that are gone. Every other
 * replica is then pointed at the new primary (or reported orphaned), and the archive follows it.
 * Clients follow `cluster.primary()` at their next connect.
 */
export async function failover(cluster: StartedPostgresCluster): Promise<string> {
  const old = cluster.primary();
  const candidates = cluster.replicas();
  if (candidates.length === 0) {
    const lost = cluster.nodes.filter((n) => n.spec.role === 'replica' && n.lost).map((n) => `'${n.name}' (lost with domain ${n.spec.domain})`);
    throw new ClusterError(`no replica survives to fail over to${lost.length ? `: ${lost.join(', ')}` : ''}`);
  }
  const positions = await Promise.all(
    candidates.map(async (node) => ({
      node,
      lsn: await node.psql('SELECT greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())').catch(() => ''),
    })),
  );
  const reachable = positions.filter((p) => p.lsn);
  if (reachable.length === 0) throw new ClusterError(`no replica answers: ${candidates.map((c) => c.name).join(', ')}`);
  const best = reachable.sort((a, b) => compareLsn(b.lsn, a.lsn))[0]!;
  const fencing = await fence(cluster, old);
  const promoted = await best.node.psql('SELECT pg_promote(true, 60)');
  const inRecovery = await best.node.psql('SELECT pg_is_in_recovery()');
  if (promoted !== 't' || inRecovery !== 'f') {
    throw new ClusterError(`${best.node.name} was not promoted: pg_promote returned '${promoted}' and the server is ${inRecovery === 't' ? 'still in recovery' : `in state '${inRecovery}'`}`);
  }
  await best.node.psql("ALTER SYSTEM SET synchronous_standby_names = ''");
  await best.node.psql('SELECT pg_reload_conf()');
  cluster.setPrimary(best.node);
  const parts = [`promoted ${best.node.name} (received and flushed WAL up to ${best.lsn})`, fencing.fenced ? `${old.name} fenced: ${fencing.how}` : `${old.name} NOT fenced: ${fencing.how}`];
  for (const replica of cluster.replicas()) parts.push(await repoint(cluster, replica));
  return parts.join('; ');
}

/**
 * Points a replica at the current primary (a slot of its own there, the new primary_conninfo; it
 * follows the new timeline by itself). One that does not stream within 20 s stays listed as a
 * replica and is reported orphaned: the final read then fails replica parity for it.
 */
async function repoint(cluster: StartedPostgresCluster, replica: PostgresNodeHandle): Promise<string> {
  const primary = cluster.primary();
  const slot = slotName(replica.name);
  try {
    await primary.psql(`SELECT pg_create_physical_replication_slot('${slot}', true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '${slot}')`);
    await replica.psql(`ALTER SYSTEM SET primary_conninfo = 'host=${primary.name} port=5432 user=postgres application_name=${replica.name}'`);
    await replica.psql(`ALTER SYSTEM SET primary_slot_name = '${slot}'`);
    await replica.psql('SELECT pg_reload_conf()');
    await waitFor({ what: `${replica.name} to stream from ${primary.name}`, timeoutMs: 20_000, intervalMs: 250 }, async (seen) => {
      const state = await primary.replicationState(replica.name);
      seen(state);
      return state === 'streaming' ? true : undefined;
    });
    return `${replica.name} now follows ${primary.name}`;
  } catch (error) {
    return `${replica.name} ORPHANED (could not follow ${primary.name}: ${describeError(error)})`;
  }
}

export interface RestoreOptions {
  /** Failure domain for the restored node's volume. */
  domain: string;
  /** Name of the new node. Default `pg-restored`. */
  name?: string;
  /** How long replay may take. Default 120 s. */
  timeoutMs?: number;
  /** Replay only up to this moment (point in time), then promote; default: the end of the archive. */
  targetTime?: Date;
  /**
   * A rehearsal: the restored node does not become the primary, and it archives nothing, so that
   * it cannot write into the repository it was restored from. Its default name is `pg-rehearsal`.
   */
  rehearsal?: boolean;
}

/** A timestamp PostgreSQL and pgBackRest both read: 2026-11-21 14:45:20.123+00. */
function pgTimestamp(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}+00`;
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
  const latest = pgbackrest ? await latestPgBackRestBackup(archive) : (await archive.exec(['bash', '-c', `ls -1 ${BASE} 2>/dev/null | sort | tail -n 1`])).stdout.trim();
  if (!latest) throw new ClusterError(`no completed base backup in the repository on '${archive.name}': none was taken before the failure (the step Sidekick skipped), or it had not finished`);

  const previous = cluster.primary();
  // The old primary is fenced before the restore begins, as an operator would: whatever it still
  // acknowledged after the archive was read would otherwise be lost, and two primaries would serve.
  let fenced = '';
  if (!options.rehearsal) {
    const fencing = await fence(cluster, previous);
    fenced = fencing.fenced ? `; ${previous.name} fenced first: ${fencing.how}` : `; ${previous.name} NOT fenced: ${fencing.how}`;
  }
  const restored = await prepareEmptyNode(cluster, options.name ?? (options.rehearsal ? REHEARSAL_NODE : RESTORED_NODE), options.domain);
  // A restored server must not wait for standbys it does not have, nor stream from the old primary;
  // a rehearsal must not push its own WAL into the repository either.
  const settings = ["synchronous_standby_names = ''", "primary_conninfo = ''", "primary_slot_name = ''", ...(options.rehearsal ? ["archive_mode = 'off'"] : [])];
  if (pgbackrest) {
    await restoreWithPgBackRest(cluster, archive, restored, settings, options.targetTime);
  } else {
    await restoreFromStreamedArchive(archive, restored, latest, settings, options.targetTime);
  }
  const until = options.targetTime ? ` up to ${pgTimestamp(options.targetTime)}` : '';
  return finishRestore(cluster, archive, restored, options, `base backup ${latest} and the WAL archive of ${archive.name}${pgbackrest ? ' (pgBackRest)' : ''}${until}`, fenced);
}

/**
 * A new node with an empty data volume in `domain`, listed in the cluster but serving nothing (it
 * is not the primary until a restore made it one): what a restore, a rehearsal or a user's runbook
 * restores into.
 */
export async function prepareEmptyNode(cluster: StartedPostgresCluster, name: string, domain: string): Promise<PostgresNodeHandle> {
  const template = cluster.nodes.find((n) => n.spec.role === 'primary') ?? cluster.nodes[0]!;
  const started = await cluster.run.startNode({
    name,
    image: cluster.image,
    exposedPorts: [PG_PORT],
    luns: [{ name: 'data', domain, mountPoint: VOLUME_MOUNT, bytes: template.spec.volumeBytes, owner: 'postgres:postgres' }],
  });
  const spec = { name, role: 'primary' as const, domain, volumeBytes: template.spec.volumeBytes, synchronous: false, settings: [] };
  const node = new PostgresNodeHandle(started, spec, String(template.clientConfig().password));
  node.role = 'retired'; // not the primary until its replay ended
  cluster.nodes.push(node);
  return node;
}

/** The label of the newest backup in the pgBackRest repository, or '' when there is none. */
async function latestPgBackRestBackup(archive: PostgresNodeHandle): Promise<string> {
  const info = await archive.exec(['pgbackrest', '--stanza=main', 'info', '--output=json']);
  if (info.exitCode !== 0) return '';
  const stanzas = JSON.parse(info.stdout) as Array<{ backup?: Array<{ label: string }> }>;
  return stanzas[0]?.backup?.at(-1)?.label ?? '';
}

/** pgBackRest restores the latest backup and sets restore_command to fetch WAL from the repository. */
async function restoreWithPgBackRest(cluster: StartedPostgresCluster, archive: PostgresNodeHandle, restored: PostgresNodeHandle, settings: string[], target?: Date): Promise<void> {
  if (!cluster.pgbackrestCa) throw new ClusterError('the cluster has no pgBackRest certificate authority to admit a new node');
  await pgBackRestNode(restored, cluster.pgbackrestCa, { role: 'pg', repoHost: archive.name }, cluster.topology.postgres.applied.pgbackrest);
  const type = target ? ['--type=time', `--target=${pgTimestamp(target)}`, '--target-action=promote'] : ['--type=default'];
  await restored.run(['bash', '-c', 'mkdir -p "$PGDATA" && chmod 700 "$PGDATA" && exec "$@"', 'restore', 'pgbackrest', '--stanza=main', '--target-timeline=latest', ...type, 'restore']);
  await restored.run([
    'bash',
    '-c',
    `printf "%s\\n" ${settings.map((line) => `"${line}"`).join(' ')} >> ${PGDATA}/postgresql.auto.conf && rm -f ${PGDATA}/standby.signal && sync -f ${PGDATA}`,
  ]);
}

/** The base backup and every streamed WAL segment, copied from the repository node. */
async function restoreFromStreamedArchive(archive: PostgresNodeHandle, restored: PostgresNodeHandle, latest: string, settings: string[], target?: Date): Promise<void> {
  const targetConf = target ? ` "recovery_target_time = '${pgTimestamp(target)}'" "recovery_target_action = 'promote'"` : '';
  // Copy the base backup and the WAL archive from the repository node to the new node. Docker's
  // archive API sees a container's root file system, not the volumes mounted inside it, so the
  // files are staged in /tmp on each side.
  await archive.run(['bash', '-c', `rm -rf /tmp/export && mkdir /tmp/export && cp -a ${BASE}/${latest} /tmp/export/base && cp -a ${REPO}/wal /tmp/export/wal`], { user: 'root' });
  try {
    const tar = await archive.container.copyArchiveFromContainer('/tmp/export');
    await restored.container.copyArchiveToContainer(tar as unknown as Readable, '/tmp');
  } finally {
    await archive.exec(['rm', '-rf', '/tmp/export'], { user: 'root' });
  }
  await restored.run(
    [
      'bash',
      '-c',
      `set -e; mv /tmp/export/base ${PGDATA}; mv /tmp/export/wal ${RESTORE_WAL}; rm -rf /tmp/export; ` +
        // The segment pg_receivewal was still writing holds the newest commits: replay it too.
        `for f in ${RESTORE_WAL}/*.partial; do [ -e "$f" ] && mv "$f" "\${f%.partial}"; done; ` +
        `rm -f ${PGDATA}/standby.signal; touch ${PGDATA}/recovery.signal; ` +
        `printf "%s\\n" "restore_command = 'cp ${RESTORE_WAL}/%f %p'" "recovery_target_timeline = 'latest'" ` +
        `${settings.map((line) => `"${line}"`).join(' ')}${targetConf} >> ${PGDATA}/postgresql.auto.conf; ` +
        `chown -R postgres:postgres ${PGDATA} ${RESTORE_WAL}; chmod 700 ${PGDATA}; sync -f ${PGDATA}`,
    ],
    { user: 'root' },
  );
}

/**
 * Starts the restored node and waits for it to replay to the end of the archive and promote. Then
 * checks that replay really reached the archive's end: PostgreSQL takes the first WAL segment it
 * cannot get or read for the end of the archive and promotes without a word, so a hole in the
 * chain would otherwise pass for a complete restore. Such a restore fails, with the hole named; the
 * restored server stays the primary (it is what the operator has), and the ledger counts what it
 * lacks.
 */
async function finishRestore(cluster: StartedPostgresCluster, archive: PostgresNodeHandle, restored: PostgresNodeHandle, options: RestoreOptions, source: string, took: string): Promise<string> {
  const name = restored.name;
  const timeoutMs = options.timeoutMs ?? 120_000;
  await restored.startServer();
  const logTail = async () => (await restored.exec(['tail', '-n', '15', '/var/log/faultline/postgresql.log'])).stdout.trim();
  let stopped = false;
  await waitFor(
    { what: `${name} to finish replaying the archive`, timeoutMs, error: (message) => new ClusterError(message) },
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
  const gap = await archiveGap(cluster, archive, ended);
  if (gap) throw new ClusterError(`${name} was restored from ${source} and promoted, but it is incomplete: ${gap}; writes after that point are not on ${name}${took}`);
  return `restored ${name} in ${options.domain} from ${source}; replay reached the end of the archive at ${ended.lsn}${took}${await followRestored(cluster, options, ended.lsn)}`;
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
async function replayEnd(restored: PostgresNodeHandle): Promise<{ timeline: number; lsn: string; segmentBytes: number; history: TimelineSwitch[] }> {
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

/** The reason the archive holds WAL past where replay ended, or undefined when replay reached its end. */
async function archiveGap(cluster: StartedPostgresCluster, archive: PostgresNodeHandle, ended: Awaited<ReturnType<typeof replayEnd>>): Promise<string | undefined> {
  const listing = await archive.run(['bash', '-c', `find ${archivedWalDir(cluster)} -type f -printf '%f\\n' 2>/dev/null || true`]);
  const files = listing.stdout.split('\n').filter(Boolean);
  return findArchiveGap(ended.lsn, ended.timeline, files, ended.segmentBytes, ended.history)?.reason;
}

/**
 * Rejoins the former primary as a replica of the current one: pg_rewind (possible because data
 * checksums are on) discards what it wrote after the timelines diverged; when rewind is impossible
 * the node is cloned afresh. It then streams from the new primary through a slot of its own.
 * Connection failures (the fabric may still be partitioned) are retried for up to `timeoutMs`.
 */
export async function rejoin(cluster: StartedPostgresCluster, timeoutMs = 30_000): Promise<string> {
  const old = cluster.nodes.find((n) => n.role === 'retired' && !n.lost && n.spec.role !== 'archive' && n.name !== REHEARSAL_NODE);
  if (!old) throw new ClusterError('no former primary survives to rejoin');
  const how = await rebuildAsReplica(cluster, old, timeoutMs);
  return `${old.name} rejoined as a replica of ${cluster.primary().name} by ${how}`;
}

/**
 * Makes a node whose history diverged from the current primary's (a former primary, a replica that
 * had WAL past the point a restore forked from) a streaming replica of it: pg_rewind, or a fresh
 * clone when rewinding fails. Returns how.
 */
async function rebuildAsReplica(cluster: StartedPostgresCluster, old: PostgresNodeHandle, timeoutMs: number): Promise<string> {
  const primary = cluster.primary();
  if (await old.serverRunning()) await old.stopServer('fast');
  const slot = slotName(old.name);
  await primary.psql(
    `SELECT pg_create_physical_replication_slot('${slot}') WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '${slot}')`,
  );
  // A newly promoted server writes its new timeline into pg_control only at its next checkpoint;
  // until then pg_rewind sees one timeline and wrongly decides there is nothing to rewind.
  await primary.psql('CHECKPOINT');
  const source = `host=${primary.name} user=postgres dbname=postgres connect_timeout=5`;
  // Connection failures (the fabric may still be partitioned) are retried until the deadline.
  const rewound = await waitFor({ what: `pg_rewind of ${old.name} to reach ${primary.name}`, timeoutMs, intervalMs: 1000 }, async (seen) => {
    const rewind = await old.exec(['pg_rewind', '-D', PGDATA, `--source-server=${source}`]);
    if (rewind.exitCode === 0) return { ok: true, why: '' };
    const why = (rewind.stderr || rewind.stdout).trim().split('\n').slice(-1)[0] ?? '';
    seen(why);
    return /could not connect|connection|timeout/i.test(why) ? undefined : { ok: false, why };
  }).catch((error: unknown) => ({ ok: false, why: describeError(error) }));
  let how = 'pg_rewind';
  if (!rewound.ok) {
    how = `a fresh clone (pg_rewind failed: ${rewound.why})`;
    await old.run(['bash', '-c', `rm -rf ${PGDATA} && pg_basebackup -h ${primary.name} -U postgres -D ${PGDATA} -X stream -c fast --no-sync`]);
  }
  await old.run([
    'bash',
    '-c',
    `touch ${PGDATA}/standby.signal && printf "%s\\n" ` +
      `"primary_conninfo = 'host=${primary.name} port=5432 user=postgres application_name=${old.name}'" ` +
      `"primary_slot_name = '${slot}'" "synchronous_standby_names = ''" >> ${PGDATA}/postgresql.auto.conf && ` +
      // Its own settings, not those of the primary it was copied from.
      `printf "%s\\n" ${(cluster.topology.postgres.applied.nodes[old.name] ?? []).map((line) => `'${line.replace(/'/g, `'\\''`)}'`).join(' ')} > ${PGDATA}/faultline-node.conf && sync -f ${PGDATA}`,
  ]);
  await old.startServer();
  try {
    await waitFor({ what: `${old.name} to stream from ${primary.name}`, timeoutMs: 20_000, intervalMs: 250 }, async (seen) => {
      const status = await old.psql("SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')").catch(() => 'down');
      seen(status);
      return status === 'streaming' ? true : undefined;
    });
  } catch (error) {
    const log = (await old.exec(['tail', '-n', '8', '/var/log/faultline/postgresql.log'])).stdout.trim();
    throw new ClusterError(`${old.name} was rejoined by ${how} but does not stream from ${primary.name} (${describeError(error)}); its log ends:\n${log}`);
  }
  old.role = 'replica';
  return how;
}
