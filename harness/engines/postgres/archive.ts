// The WAL archive as a restore will find it: where the repository keeps archived WAL, switching a
// segment on the primary and waiting until the archive holds it, the archive following a new
// primary after failover or restore (an incremental backup chain going on from it), and the
// continuity of the archive at the end of a run.

import { ClusterError, describeError } from '../../errors.ts';
import type { ArchiveEvidence } from '../../history/final-state.ts';
import { waitFor } from '../../wait.ts';
import { BASE, PGDATA, REPO, withClient, type PostgresNodeHandle } from './postgres-node.ts';
import { slotName } from './start-cluster.ts';
import { killAll } from '../../cluster/kill.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';
import { continueChain } from './incremental.ts';
import { backupToolHooks } from './backup-tools.ts';
import { findArchiveHoles, finishedBackupSegments, parseLsn, parseSegmentName, parseTimelineHistory, segmentName, type TimelineSwitch } from './wal.ts';
import { withWalFlowing } from './wal-flow.ts';

/** Where the repository keeps archived WAL: pg_receivewal's directory, or pgBackRest's archive. */
export function archivedWalDir(cluster: StartedPostgresCluster): string {
  const hooks = backupToolHooks(cluster.topology);
  if (hooks) return hooks.walDir(cluster.topology);
  return cluster.topology.postgres.backupTool === 'pgbackrest' ? `${REPO}/pgbackrest/archive` : `${REPO}/wal`;
}

/** Segments of older timelines that a new timeline superseded are kept here, out of pg_receivewal's way. */
const SUPERSEDED = 'superseded';

/** The path of a complete archived copy of `segment` ('' when there is none yet). */
export async function findArchivedSegment(cluster: StartedPostgresCluster, archive: PostgresNodeHandle, segment: string): Promise<string> {
  // pg_receivewal names it <segment> once complete; pgBackRest <segment>-<sha1>[.lz4] once pushed
  // (its .pgbackrest.tmp while the push is under way).
  // A user's archive_command may compress it (<segment>.gz, .zst…).
  const find = `find ${archivedWalDir(cluster)} -path '*/${SUPERSEDED}' -prune -o -type f \\( -name '${segment}' -o -name '${segment}-*' -o -name '${segment}.*' \\) ! -name '*.tmp' ! -name '*.partial' -print -quit`;
  return (await archive.exec(['bash', '-c', find])).stdout.trim();
}

/** Every file name in the archive (superseded segments included). */
export async function archivedFiles(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<string[]> {
  const listing = await archive.run(['bash', '-c', `find ${archivedWalDir(cluster)} -type f -printf '%f\\n' 2>/dev/null || true`]);
  return listing.stdout.split('\n').filter(Boolean);
}

export interface SegmentInfo {
  /** The current timeline of the node and where its history branched off. */
  timeline: number;
  history: TimelineSwitch[];
  segmentBytes: number;
}

/** A node's current timeline and its history (from pg_wal/<timeline>.history, read over SQL). */
export async function timelineOf(node: PostgresNodeHandle): Promise<SegmentInfo> {
  return withClient(node, async (client) => {
    const row = await client.query<{ file: string; bytes: string }>(
      "SELECT pg_walfile_name(pg_current_wal_lsn()) AS file, pg_size_bytes(current_setting('wal_segment_size'))::text AS bytes",
    );
    const timeline = Number.parseInt(row.rows[0]!.file.slice(0, 8), 16);
    const segmentBytes = Number(row.rows[0]!.bytes);
    if (timeline === 1) return { timeline, history: [], segmentBytes };
    const name = `${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
    const text = (await client.query<{ text: string }>('SELECT pg_read_file($1) AS text', [`pg_wal/${name}`])).rows[0]!.text;
    return { timeline, history: parseTimelineHistory(text), segmentBytes };
  });
}

export interface ArchivedSwitch {
  /** The segment the switch completed, now held by the archive. */
  segment: string;
  /** How long it took to get there. */
  waitedMs: number;
  /** When PostgreSQL had not marked the segment ready to archive and a second switch was made. */
  nudged?: string;
}

/** After this long without the segment in the archive, nor its .ready or .done, the primary switches again. */
const NUDGE_AFTER_MS = 10_000;

/**
 * Closes the primary's current WAL segment (with a record in it, so that there is one to close)
 * and waits until the archive holds it complete: then everything acknowledged before the switch is
 * in the archive. Throws, saying what the archive holds instead, when it does not arrive in time.
 */
export async function archiveCurrentSegment(cluster: StartedPostgresCluster, timeoutMs = 30_000): Promise<ArchivedSwitch> {
  const archive = cluster.archive();
  if (!archive) throw new ClusterError('the topology has no archive');
  if (archive.lost) throw new ClusterError(`the archive node ${archive.name} was lost (domain ${archive.spec.domain})`);
  const primary = cluster.primary();
  if (primary.lost) throw new ClusterError(`no primary to archive from: ${primary.name} was lost`);
  await primary.psql("SELECT pg_logical_emit_message(false, 'faultline', 'archive-switch')");
  const segment = await primary.psql('SELECT pg_walfile_name(pg_switch_wal())');
  const started = performance.now();
  let nudged: string | undefined;
  const arrived = waitFor(
    {
      what: `WAL segment ${segment}, switched on ${primary.name}, to reach the archive on ${archive.name}`,
      timeoutMs,
      intervalMs: 25,
      error: (message) => new ClusterError(`the archive does not follow the primary: ${message}`),
    },
    async (seen) => {
      const file = await findArchivedSegment(cluster, archive, segment);
      if (file) return file;
      seen(await newestArchived(cluster, archive));
      // Seen in CI (archive_command, archive_timeout 1 s): the switched segment never marked ready
      // to archive, the archiver idle. A second switch makes PostgreSQL notify every finished segment.
      if (!nudged && performance.now() - started >= NUDGE_AFTER_MS && !(await archiveStatusOf(primary, segment))) {
        await primary.psql("SELECT pg_logical_emit_message(false, 'faultline', 'archive-nudge')");
        const next = await primary.psql('SELECT pg_walfile_name(pg_switch_wal())');
        nudged = `${primary.name} had not marked ${segment} ready to archive after ${NUDGE_AFTER_MS / 1000} s (no .ready or .done): switched again (${next}); ${(await archiveStatusOf(primary, segment)) || `still no status for ${segment}`}`;
      }
      return undefined;
    },
  );
  // Barman's streaming archiver moves a closed segment only once the next one was begun (wal-flow.ts);
  // pg_receivewal, pgBackRest and an archive_command take it as soon as it is complete. (WAL kept
  // flowing for those too filled a primary's volume: with archive_timeout 1 s each second of
  // flow is a new segment, which a failing archive_command keeps in pg_wal.)
  await (cluster.topology.postgres.backupTool === 'barman' ? withWalFlowing(primary, arrived) : arrived).catch(async (error: unknown) => {
    throw new ClusterError(`${describeError(error)}; ${await archiverState(primary)}${nudged ? `; ${nudged}` : ''}`, { cause: error });
  });
  return { segment, waitedMs: Math.round(performance.now() - started), ...(nudged ? { nudged } : {}) };
}

/** The segment's archive status on the primary: '<segment>.ready' or '.done', or '' when it has none. */
async function archiveStatusOf(primary: PostgresNodeHandle, segment: string): Promise<string> {
  const listing = await primary.exec(['bash', '-c', `cd ${PGDATA}/pg_wal/archive_status 2>/dev/null && ls -1 ${segment}.ready ${segment}.done 2>/dev/null`]);
  return listing.stdout.trim().split('\n').filter(Boolean).join(' ');
}

/** What the primary's archiver says of itself (pg_stat_archiver, the segments waiting in archive_status): why a segment did not arrive. */
async function archiverState(primary: PostgresNodeHandle): Promise<string> {
  const stats = await primary
    .psql(
      "SELECT format('%s archived (last %s at %s), %s failed (last %s at %s)', archived_count, coalesce(last_archived_wal, '-'), coalesce(last_archived_time::text, '-'), failed_count, coalesce(last_failed_wal, '-'), coalesce(last_failed_time::text, '-')) FROM pg_stat_archiver",
    )
    .catch((error: unknown) => `unreadable (${describeError(error)})`);
  const ready = await primary.exec(['bash', '-c', `ls ${PGDATA}/pg_wal/archive_status 2>/dev/null | grep '\\.ready$' | sort | tr '\\n' ' '`]);
  const archiver = await primary.exec(['bash', '-c', "ps -o stat=,wchan:24=,args= -u postgres | grep -E 'archiver' | grep -v grep | tr -s ' ' | tr '\\n' ' '"]);
  return `${primary.name}'s archiver: ${archiver.stdout.trim() || 'not running'}; pg_stat_archiver: ${stats}; waiting in archive_status: ${ready.stdout.trim() || 'none'}`;
}

async function newestArchived(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<string> {
  const files = (await archivedFiles(cluster, archive)).filter((f) => /^[0-9A-F]{24}/.test(f)).sort();
  return files.length ? `newest file in the archive: ${files.at(-1)}` : 'the archive holds no WAL';
}

/**
 * What the archive holds at the end of the run: the final primary switches a segment, which must
 * arrive, and every segment of the final timeline's history from the oldest one held up to it must
 * be there. Never throws: what went wrong is the evidence.
 */
export async function archiveEvidence(cluster: StartedPostgresCluster): Promise<ArchiveEvidence | undefined> {
  const archive = cluster.archive();
  if (!archive) return undefined;
  const node = archive.name;
  if (cluster.topology.postgres.archiveWal === 'none' && cluster.topology.postgres.backupTool === 'pg_receivewal') {
    return { node, error: 'it receives no WAL (archiveWal none: what an archive_command that copies nothing leaves), only base backups' };
  }
  try {
    // An archive a tool's own schedule feeds (barman cron moving what receive-wal finished) or
    // archive_command retries (every 60 s after three failures) may lag: it is given longer.
    const switched = await archiveCurrentSegment(cluster, backupToolHooks(cluster.topology) ? 45_000 : 15_000);
    const { timeline, history, segmentBytes } = await timelineOf(cluster.primary());
    const through = parseSegmentName(switched.segment, segmentBytes)!.segment;
    const inBackup = await backupOwnSegments(cluster, archive);
    const archived = await archivedFiles(cluster, archive);
    const holes = findArchiveHoles(timeline, history, [...archived, ...inBackup.segments], segmentBytes, through);
    const lacking = new Set(findArchiveHoles(timeline, history, archived, segmentBytes, through).missing);
    const covered = inBackup.segments.filter((segment) => lacking.has(segment));
    return {
      node,
      timeline,
      through: switched.segment,
      missing: holes.missing,
      waitedMs: switched.waitedMs,
      ...(switched.nudged ? { nudged: switched.nudged } : {}),
      ...(holes.from ? { from: holes.from } : {}),
      ...(covered.length > 0 ? { inBackup: { label: inBackup.label, segments: covered } } : {}),
    };
  } catch (error) {
    return { node, error: describeError(error) };
  }
}

/**
 * The WAL segments the newest base backup in the repository holds in its own pg_wal (what
 * pg_basebackup -X stream or fetch copies: from the backup's start to its end), all but the newest
 * of them, which the stream may have left unfinished. A restore of that backup reads them from the
 * backup when the archive lacks them (an archiver that had not yet sent them when the primary was
 * lost), so they are no hole. pgBackRest's and Barman's backups keep no pg_wal: none.
 */
async function backupOwnSegments(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<{ label: string; segments: string[] }> {
  if (cluster.topology.postgres.backupTool === 'pgbackrest' || cluster.topology.postgres.backupTool === 'barman') return { label: '', segments: [] };
  const listing = await archive.exec(['bash', '-c', `b=$(ls -1 ${BASE} 2>/dev/null | sort | tail -n 1); [ -n "$b" ] || exit 0; echo "$b"; ls -1 ${BASE}/$b/pg_wal 2>/dev/null || true`]);
  const [label = '', ...names] = listing.stdout.trim().split('\n').filter(Boolean);
  return { label, segments: finishedBackupSegments(names) };
}

/**
 * After failover or restore, the archive follows the new primary. pgBackRest needs only its
 * repository host pointed at it (the new primary pushes WAL with its own archive_command).
 * pg_receivewal is restarted against the new primary through a slot of its own there, from the
 * start of the fork's segment on the new timeline; segments of older timelines at or past the
 * fork are first moved aside (kept, under `superseded/`), since pg_receivewal resumes after the
 * newest segment it finds and that WAL is not in the new history.
 */
export async function followPrimary(cluster: StartedPostgresCluster): Promise<string> {
  const archive = cluster.archive();
  if (!archive) return 'no archive to follow the primary';
  if (archive.lost) throw new ClusterError(`the archive node ${archive.name} was lost`);
  const primary = cluster.primary();
  const hooks = backupToolHooks(cluster.topology);
  if (hooks) return hooks.followPrimary(cluster, archive);
  if (cluster.topology.postgres.backupTool === 'pgbackrest') {
    await archive.run(['sed', '-i', `s/^pg1-host=.*/pg1-host=${primary.name}/`, '/etc/pgbackrest/pgbackrest.conf'], { user: 'root' });
    const mode = await primary.psql("SELECT current_setting('archive_mode') || ' ' || current_setting('archive_command')");
    if (!mode.startsWith('on ') || !mode.includes('pgbackrest')) throw new ClusterError(`${primary.name} does not archive to the repository (archive_mode, archive_command: ${mode})`);
    return `the pgBackRest repository on ${archive.name} now backs up ${primary.name}, which archives with ${mode.slice(3)}`;
  }
  if (cluster.topology.postgres.archiveWal === 'none') return `the archive on ${archive.name} receives no WAL (archiveWal 'none'): it holds base backups only`;
  await killAll(archive, 'pg_receivewal');
  const { timeline, history, segmentBytes } = await timelineOf(primary);
  let moved = 0;
  const fork = history.at(-1);
  if (fork) {
    const forkSegment = parseLsn(fork.switchLsn) / BigInt(segmentBytes);
    const dir = `${REPO}/wal`;
    const names = (await archive.run(['bash', '-c', `find ${dir} -maxdepth 1 -type f -printf '%f\\n'`])).stdout.split('\n').filter(Boolean);
    const aside = names.filter((name) => {
      const parsed = parseSegmentName(name, segmentBytes);
      return parsed !== undefined && !name.endsWith('.history') && parsed.timeline !== timeline && parsed.segment >= forkSegment;
    });
    if (aside.length > 0) {
      await archive.run(['bash', '-c', `mkdir -p ${dir}/${SUPERSEDED} && cd ${dir} && mv ${aside.map((n) => `'${n}'`).join(' ')} ${SUPERSEDED}/ && fl-sync ${dir}`]);
      moved = aside.length;
    }
    // Start on the new timeline at the fork's segment (the new primary's copy of it holds the old
    // timeline's WAL up to the fork too): an empty .partial tells pg_receivewal where to begin.
    // Resuming on the old timeline fails when the fork is exactly at a segment boundary.
    if (!names.some((name) => !name.endsWith('.history') && parseSegmentName(name, segmentBytes)?.timeline === timeline)) {
      await archive.run(['bash', '-c', `: > ${dir}/${segmentName(timeline, forkSegment, segmentBytes)}.partial`]);
    }
  }
  await archive.run(['fl-pg', 'start-archive'], { env: { FL_UPSTREAM: primary.name, FL_SLOT: slotName(archive.name), FL_NAME: archive.name, FL_REPO: REPO } });
  await waitFor(
    { what: `the archive ${archive.name} to stream from ${primary.name}`, timeoutMs: 20_000, intervalMs: 50, error: (m) => new ClusterError(m) },
    async (seen) => {
      const state = await primary.replicationState(archive.name);
      seen(state);
      return state === 'streaming' ? true : undefined;
    },
  );
  const superseded = moved ? `; ${moved} segment(s) of older timelines past the fork at ${fork!.switchLsn} kept in wal/${SUPERSEDED}/` : '';
  // With incremental backups, the chain goes on from the new primary (a restore closed it).
  const chain = cluster.topology.postgres.incremental ? await continueChain(cluster) : '';
  return `the archive on ${archive.name} streams from ${primary.name} on timeline ${timeline}${superseded}${chain}`;
}
