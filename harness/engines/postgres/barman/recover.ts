// A restore with Barman: `barman recover` of the backup on the Barman host (into a staging directory
// on its own disk, as a local recovery), then the WAL Barman holds past what recover copied, the
// segment receive-wal was still writing included, fetched with `barman get-wal --partial` (what
// barman-wal-restore --partial would fetch for the restored server's restore_command), and the
// whole shipped into the restored node's PGDATA. Barman's recovery settings stay as it wrote them,
// its staging directory replaced by PGDATA: restore_command copies from PGDATA/barman_wal and
// recovery_end_command removes it.

import { ClusterError } from '../../../errors.ts';
import { pipeBetween } from '../../../cluster/docker/pipe.ts';
import type { BackupLabel } from '../backup-tool.ts';
import { PGDATA, type PostgresNodeHandle } from '../postgres-node.ts';
import type { StartedPostgresCluster } from '../started-cluster.ts';
import { parseLsn, parseSegmentName, parseTimelineHistory, segmentName } from '../wal.ts';
import { barman, barmanOk, said } from './command.ts';
import { BARMAN_STAGING, streamingDirectory, type BarmanConf } from './conf.ts';
import { clusterConf } from './site.ts';

/** The node image's WAL segment size (initdb's default): segment names are counted in it. */
const SEGMENT_BYTES = 16 * 1024 * 1024;
/** At most this many segments fetched past what barman recover copied. */
const MAX_FETCHED = 256;

export async function barmanRestore(cluster: StartedPostgresCluster, archive: PostgresNodeHandle, restored: PostgresNodeHandle, latest: BackupLabel, settings: string[], target?: string): Promise<string> {
  const conf = clusterConf(cluster.topology, cluster.primary().name);
  const stage = `${BARMAN_STAGING}/recover-${latest.label}`;
  // What receive-wal completed goes into the archive first (the old primary is fenced: nothing more comes).
  await barman(archive, ['-q', 'cron']);
  await archive.run(['bash', '-c', `rm -rf "$0" && mkdir -p "$(dirname "$0")"`, stage]);
  const targets = ['--target-tli', 'latest', ...(target ? ['--target-time', target, '--target-action', 'promote'] : [])];
  const recovered = await barman(archive, ['recover', ...targets, conf.server, latest.label, stage]);
  if (recovered.exitCode !== 0) throw new ClusterError(`barman recover ${targets.join(' ')} ${conf.server} ${latest.label} on ${archive.name} exited ${recovered.exitCode}: ${said(recovered).split('\n').filter((l) => /ERROR|error/.test(l)).join(' ') || said(recovered).split('\n').at(-1)}`);
  await archive.run(['mkdir', '-p', `${stage}/barman_wal`]);
  const copied = await walNames(archive, `${stage}/barman_wal`);
  const fetched = await fetchNewerWal(archive, conf, `${stage}/barman_wal`, copied, latest);
  try {
    await pipeBetween(
      { container: archive.container, name: archive.name, command: ['bash', '-c', `set -o pipefail; tar -C "$0" -c . | lz4 -1 -q -c`, stage], what: `tar (lz4) of what barman recover staged in ${stage}`, user: 'postgres' },
      { container: restored.container, name: restored.name, command: ['bash', '-c', `set -o pipefail; mkdir -p ${PGDATA} && lz4 -d -q -c | tar -x -C ${PGDATA}`], what: `lz4 -d | tar -x into ${PGDATA}` },
    );
  } finally {
    await archive.exec(['rm', '-rf', stage]);
  }
  // barman recover wrote the recovery settings (restore_command, recovery_end_command, the targets) with
  // its staging directory in them: that directory is now PGDATA. Then the restore's own settings.
  await restored.run(
    [
      'bash',
      '-c',
      `set -e; sed -i "s#$0#${PGDATA}#g" ${PGDATA}/postgresql.auto.conf; ` +
        // Older Barman (3.4, Debian 12's) copies the WAL a restore needs into pg_wal and sets no
        // restore_command: the segments get-wal fetched above are then read from barman_wal.
        `grep -q "^[[:space:]]*restore_command" ${PGDATA}/postgresql.auto.conf || echo "restore_command = 'cp ${PGDATA}/barman_wal/%f %p'" >> ${PGDATA}/postgresql.auto.conf; ` +
        `printf "%s\\n" "recovery_target_timeline = 'latest'" "$@" >> ${PGDATA}/postgresql.auto.conf; ` +
        `rm -f ${PGDATA}/standby.signal; touch ${PGDATA}/recovery.signal; chown -R postgres:postgres ${PGDATA}; chmod 700 ${PGDATA}; fl-sync ${PGDATA}`,
      stage,
      ...settings,
    ],
    { user: 'root' },
  );
  const partial = fetched.find((f) => f.partial);
  const more = fetched.length === 0 ? 'and nothing more from `barman get-wal --partial`' : `and ${fetched.length} more from \`barman get-wal --partial\` (${fetched.map((f) => `${f.name}${f.partial ? ', the .partial receive-wal was writing' : ''}`).join(', ')})`;
  return `barman recover ${targets.join(' ')} of backup ${latest.label} on ${archive.name}, shipped into ${restored.name}:${PGDATA}; restore_command copies from ${PGDATA}/barman_wal: ${copied.length} WAL file(s) barman recover copied ${more}${partial ? '' : '; no .partial segment'}`;
}

async function walNames(archive: PostgresNodeHandle, dir: string): Promise<string[]> {
  const listing = await archive.run(['bash', '-c', `ls -1 "$0" 2>/dev/null || true`, dir]);
  return listing.stdout.split('\n').filter((n) => /^[0-9A-F]{8}(\.history|[0-9A-F]{16})$/.test(n)).sort();
}

/**
 * Asks Barman for the segments after the newest one recover copied on the newest timeline, one by
 * one, as the restored server's restore_command would, until Barman has none: complete segments
 * receive-wal wrote since the last archive-wal, then the .partial it was writing.
 */
async function fetchNewerWal(archive: PostgresNodeHandle, conf: BarmanConf, dir: string, copied: string[], latest: BackupLabel): Promise<Array<{ name: string; partial: boolean }>> {
  const segments = copied.map((name) => ({ name, parsed: parseSegmentName(name, SEGMENT_BYTES) })).filter((s) => s.parsed && !s.name.endsWith('.history'));
  const histories = copied.filter((n) => n.endsWith('.history')).map((n) => Number.parseInt(n.slice(0, 8), 16));
  const timeline = Math.max(1, ...histories, ...segments.map((s) => s.parsed!.timeline));
  const onTimeline = segments.filter((s) => s.parsed!.timeline === timeline).map((s) => s.parsed!.segment);
  let next: bigint;
  if (onTimeline.length > 0) next = onTimeline.reduce((a, b) => (b > a ? b : a)) + 1n;
  else if (histories.includes(timeline)) {
    const text = (await archive.run(['cat', `${dir}/${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`])).stdout;
    const fork = parseTimelineHistory(text).at(-1);
    next = fork ? parseLsn(fork.switchLsn) / BigInt(SEGMENT_BYTES) : 0n;
  } else next = latest.start ? parseSegmentName(latest.start, SEGMENT_BYTES)!.segment : 0n;
  const streaming = streamingDirectory(conf.home, conf.server);
  const fetched: Array<{ name: string; partial: boolean }> = [];
  for (let i = 0; i < MAX_FETCHED; i++, next++) {
    const name = segmentName(timeline, next, SEGMENT_BYTES);
    const got = await archive.exec([
      'bash',
      '-c',
      `p=0; [ -e "$2/$1.partial" ] && p=1; barman get-wal --partial "$0" "$1" >"$3/.fetching" 2>"$3/.fetching.err" && mv "$3/.fetching" "$3/$1" && echo "partial=$p"; rc=$?; rm -f "$3/.fetching" "$3/.fetching.err"; exit $rc`,
      conf.server,
      name,
      streaming,
      dir,
    ]);
    if (got.exitCode !== 0) break;
    fetched.push({ name, partial: got.stdout.includes('partial=1') });
  }
  return fetched;
}
