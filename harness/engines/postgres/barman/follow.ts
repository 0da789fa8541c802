// After a failover or a restore, Barman follows the new primary: its server file points conninfo and
// streaming_conninfo at it, receive-wal stops, the WAL receive-wal kept of older timelines at or past
// the new timeline's fork is moved aside (kept, in <server>/superseded/: pg_receivewal resumes after
// the newest file it finds, and that WAL is not in the new history), an empty .partial at the fork's
// segment on the new timeline tells it where to begin, Barman makes its slot on the new primary, and
// receive-wal starts again from it. The cron loop is held meanwhile, so that it does not start
// receive-wal half-way.

import type { PostgresNodeHandle } from '../postgres-node.ts';
import type { StartedPostgresCluster } from '../started-cluster.ts';
import { timelineOf } from '../archive.ts';
import { parseLsn, parseSegmentName, segmentName } from '../wal.ts';
import { barman, said } from './command.ts';
import { serverFile, streamingDirectory } from './conf.ts';
import { pauseCron, startReceiveWal, stopReceiveWal, waitForReceiveWal } from './processes.ts';
import { writeConf } from './setup.ts';
import { clusterConf } from './site.ts';

export async function followWithBarman(cluster: StartedPostgresCluster, archive: PostgresNodeHandle): Promise<string> {
  const primary = cluster.primary();
  const conf = clusterConf(cluster.topology, primary.name);
  await pauseCron(archive, true);
  try {
    await writeConf(archive, conf);
    const pointed = `Barman's server '${conf.server}' on ${archive.name} now backs up ${primary.name} (conninfo, streaming_conninfo in ${serverFile(conf)})`;
    if (!conf.streaming) return pointed;
    await stopReceiveWal(archive, conf);
    const { timeline, history, segmentBytes } = await timelineOf(primary);
    const fork = history.at(-1);
    const dir = streamingDirectory(conf.home, conf.server);
    let moved: string[] = [];
    if (fork) {
      const forkSegment = parseLsn(fork.switchLsn) / BigInt(segmentBytes);
      const names = (await archive.run(['bash', '-c', `ls -1 "$0" 2>/dev/null || true`, dir])).stdout.split('\n').filter(Boolean);
      moved = names.filter((name) => {
        const parsed = parseSegmentName(name, segmentBytes);
        return parsed !== undefined && !name.endsWith('.history') && parsed.timeline !== timeline && parsed.segment >= forkSegment;
      });
      const start = names.some((name) => !name.endsWith('.history') && parseSegmentName(name, segmentBytes)?.timeline === timeline) ? '' : `${segmentName(timeline, forkSegment, segmentBytes)}.partial`;
      await archive.run([
        'bash',
        '-c',
        `set -e; cd "$0"; mkdir -p ../superseded; for f in "\${@:2}"; do mv "$f" ../superseded/; done; [ -z "$1" ] || : >"$1"; fl-sync . ../superseded`,
        dir,
        start,
        ...moved,
      ]);
    }
    let slot = '';
    if (conf.slot) {
      const made = await barman(archive, ['receive-wal', '--create-slot', conf.server]);
      slot = made.exitCode === 0 ? ` through slot '${conf.slot}' (${said(made).split('\n').at(-1)})` : ` (barman receive-wal --create-slot exited ${made.exitCode}: ${said(made).split('\n').at(-1)})`;
    }
    await startReceiveWal(archive, conf);
    await waitForReceiveWal(primary, archive, conf);
    const aside = moved.length > 0 ? `; ${moved.length} file(s) of older timelines past the fork at ${fork!.switchLsn} kept in ${conf.server}/superseded/ (${moved.join(', ')})` : '';
    return `${pointed}; barman receive-wal streams from it on timeline ${timeline}${slot}${aside}`;
  } finally {
    await pauseCron(archive, false);
  }
}
