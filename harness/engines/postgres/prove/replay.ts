// The restored server started and followed until replay ends and it promotes, with progress from
// its own log (segments restored); then where replay stopped, read from the timeline history the
// promotion wrote, judged against what the backups hold.

import type { ProveContext, ProveEvidence, RecoveryTarget } from '../../../cluster/prove-ability.ts';
import { ClusterError, ConfigError } from '../../../errors.ts';
import { formatMs } from '../../../units.ts';
import { PGDATA } from '../postgres-node.ts';
import { compareLsn, findArchiveGap, parseTimelineHistory } from '../wal.ts';
import { lastLines } from './restore.ts';
import { SERVER_LOG, type ScratchNode } from './scratch.ts';

/** How replay ended: the server serves (promoted), or it stopped, in its own words. */
export type ReplayOutcome = { started: true } | { started: false; error: string };

/** The server's own lines that say why it stopped (FATAL, PANIC), else its log's last lines. */
async function whyStopped(scratch: ScratchNode): Promise<string> {
  const log = (await scratch.node.exec(['tail', '-n', '60', SERVER_LOG])).stdout;
  const said = log.split('\n').filter((l) => /\b(FATAL|PANIC):/.test(l)).map((l) => l.replace(/^\S+ \S+ \S+ \[\d+\] /, '').trim());
  return said.length > 0 ? said.slice(-3).join(' / ') : lastLines(log, 5);
}

/**
 * Starts the server on the restored data and waits until it serves (replay ended and it promoted)
 * or stops. Progress every 5 s: WAL segments restored from the backups so far, of `expected`.
 */
export async function replay(scratch: ScratchNode, context: ProveContext, expected: number | undefined): Promise<ReplayOutcome> {
  const node = scratch.node;
  // The postmaster's own pid (setsid execs it in place): a process named postgres may not exist yet
  // when the first look comes on a busy machine, and a look by name then took it for one that stopped.
  const pid = (await node.run(['bash', '-c', `setsid postgres -D ${PGDATA} </dev/null >>${SERVER_LOG} 2>&1 & echo $!`])).stdout.trim();
  const alive = ['bash', '-c', `[ -d /proc/${pid} ] && [ "$(awk '{print $3}' /proc/${pid}/stat 2>/dev/null)" != Z ]`];
  const began = performance.now();
  let lastProgress = began;
  let seen = '';
  let readySince: number | undefined;
  let lastCount = 0;
  let lastMoved = began;
  while (true) {
    const asked = await scratch.sql('SELECT pg_is_in_recovery()');
    if (asked.ok && asked.out === 'f') return { started: true };
    seen = asked.ok ? `pg_is_in_recovery() = ${asked.out}` : asked.err;
    // faultline connects to database postgres: a cluster that dropped it is not a backup that fails to restore.
    if (/database "postgres" does not exist/.test(asked.err)) {
      throw new ConfigError('The restored server has no database postgres, which faultline checks it through: prove-backup needs it (create it, even empty, on your primary)');
    }
    if (/role ".*" does not exist/.test(asked.err)) {
      throw new ConfigError(`The restored server has no role '${scratch.role}' to check it as: name a superuser of your cluster with --db-user`);
    }
    if ((await node.exec(alive)).exitCode !== 0) return { started: false, error: await whyStopped(scratch) };
    // A server that says it accepts connections but never lets faultline in is faultline's failure, not the backup's.
    if ((await node.exec(['grep', '-q', 'database system is ready to accept connections', SERVER_LOG])).exitCode === 0) {
      readySince ??= performance.now();
      // The server itself refusing every session (a catalog file it cannot open) is what the restored data does;
      // no answer at all from a server that says it is ready is faultline's own failure.
      const refused = /FATAL: +(.*)/.exec(asked.err)?.[1];
      if (refused && performance.now() - readySince > 10_000) return { started: false, error: `the server came up but refused every session: ${refused}` };
      if (performance.now() - readySince > 30_000) throw new ClusterError(`the restored server is ready, but faultline cannot connect to it: ${seen}`);
    }
    const now = performance.now();
    if (now - lastProgress >= 5000) {
      lastProgress = now;
      const restored = await node.exec(['bash', '-c', `grep -c 'restored log file' ${SERVER_LOG}; grep -o 'restored log file "[^"]*"' ${SERVER_LOG} | tail -n 1`]);
      const [count, last] = restored.stdout.trim().split('\n');
      const n = Number(count) || 0;
      if (n > lastCount) (lastCount = n), (lastMoved = now);
      const rate = n / ((now - began) / 1000);
      // An estimate only while segments keep coming; a pause is said as one (a large segment, the end-of-recovery checkpoint).
      const left = now - lastMoved > 10_000 ? `, none new for ${formatMs(now - lastMoved)}` : expected && expected > n && rate > 0 ? `, about ${formatMs(((expected - n) / rate) * 1000)} left` : '';
      context.log(`replaying: ${n}${expected ? ` of about ${expected}` : ''} WAL segments restored${last ? ` (last ${last.replace('restored log file ', '')})` : ''}${left}`);
    }
    if (now - began > context.timeoutMs) {
      throw new ClusterError(`the restored server did not finish replay within ${formatMs(context.timeoutMs)} (last seen: ${seen}); its log ends: ${lastLines((await node.exec(['tail', '-n', '5', SERVER_LOG])).stdout)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The segment name of a file in a WAL archive (pgBackRest adds '-<sha1>' and a compression suffix), or the file's name for a history file. */
export function archivedName(file: string): string | undefined {
  const name = file.split('/').at(-1)!;
  if (/^[0-9A-F]{8}\.history/.test(name)) return name.slice(0, 16);
  const segment = /^([0-9A-F]{24})(\.partial)?(-[0-9a-f]{40})?(\.[a-z0-9]+)?$/.exec(name);
  if (!segment || segment[2]) return undefined;
  return segment[1];
}

/**
 * Where replay stopped, from the newest timeline history file (its last line: the timeline replayed
 * and where the new one branched off), against the segments the backups hold (`held`, names as
 * archived) and the target asked for.
 */
export async function readReached(scratch: ScratchNode, held: string[] | undefined, target: RecoveryTarget): Promise<NonNullable<ProveEvidence['reached']>> {
  const read = async (query: string) => {
    const r = await scratch.sql(query);
    if (!r.ok) throw new ClusterError(`the restored server did not answer '${query}': ${r.err}`);
    return r.out;
  };
  const segmentBytes = Number(await read("SELECT pg_size_bytes(current_setting('wal_segment_size'))"));
  const historyFile = await read("SELECT coalesce((SELECT name FROM pg_ls_waldir() WHERE name LIKE '%.history' ORDER BY name DESC LIMIT 1), '')");
  const lastCommitAt = await read(`SELECT coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), '')`);
  if (!historyFile) throw new ClusterError('the restored server promoted but wrote no timeline history file: where replay ended cannot be read');
  const text = await read(`SELECT pg_read_file('pg_wal/${historyFile}')`);
  const lines = parseTimelineHistory(text);
  const last = lines.at(-1);
  if (!last) throw new ClusterError(`the restored server's timeline history pg_wal/${historyFile} is empty`);
  const timeline = last.parent;
  const lsn = last.switchLsn;
  const segments = (held ?? []).map(archivedName).filter((n): n is string => n !== undefined);
  const walSegments = segments.filter((n) => n.length === 24);
  const newestSegment = walSegments.sort().at(-1);
  const reached: NonNullable<ProveEvidence['reached']> = {
    point: `replay ended at ${lsn} on timeline ${timeline}`,
    lsn,
    timeline,
    ...(lastCommitAt ? { lastCommitAt } : {}),
    ...(newestSegment ? { newest: `WAL up to segment ${newestSegment}` } : held ? { newest: 'no WAL past what the backup carries' } : {}),
    counts: { 'WAL segments in the backups': walSegments.length },
  };
  if (target.kind === 'latest') {
    const gap = held ? findArchiveGap(lsn, timeline, segments, segmentBytes, lines.slice(0, -1)) : undefined;
    if (gap) {
      const first = gap.missing[0];
      reached.short = first
        ? `replay stopped at ${lsn} on timeline ${timeline}: WAL segment ${first} is missing${gap.missing.length > 1 ? ` (and ${gap.missing.length - 1} more after it)` : ''}, though the backups hold WAL up to ${gap.archiveEndsIn}; everything after ${lsn} is not restored`
        : `replay stopped at ${lsn} on timeline ${timeline}, in segment ${gap.stoppedIn}, which the backups hold but which cannot be read (damaged); the backups hold WAL up to ${gap.archiveEndsIn}`;
    }
    return reached;
  }
  if (target.kind === 'lsn') {
    const ok = compareLsn(lsn, target.lsn) >= 0;
    reached.target = { asked: `LSN ${target.lsn}`, reached: ok, detail: ok ? `replay passed ${target.lsn}` : `replay ended before ${target.lsn}` };
    return reached;
  }
  const stopping = (await scratch.node.exec(['bash', '-c', `grep -o 'recovery stopping [^"]*' ${SERVER_LOG} | tail -n 1`])).stdout.trim();
  reached.target = { asked: `time ${target.time.toISOString()}`, reached: stopping !== '', detail: stopping || 'the server did not say it stopped at the target' };
  return reached;
}
