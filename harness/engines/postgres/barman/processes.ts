// Barman's long-running processes on the Barman host: `barman receive-wal` (pg_receivewal into the
// streaming directory) and a stand-in for the system cron that runs `barman cron`.
//
// `barman cron` runs from a loop owned by root when it has work (looked for every 0.5 s in the
// shell, without starting Barman), at most every 2 s and at least every 10 s: it moves the WAL
// receive-wal completed into the archive (archive-wal), marks backups waiting for WAL as done, and
// starts receive-wal again when it is not running, as Debian's /etc/cron.d/barman does every minute
// (a drill cannot wait a minute; a drill's workload gives it work about every 2 s, and an idle
// Barman host is not woken). Barman itself runs as postgres, the archive volume's owner, so a power
// loss on the archive node kills receive-wal and any barman command, but not this loop: as the
// system cron after a reboot, its next run starts receive-wal again (possibly before the fault is
// healed). followPrimary pauses it while it moves receive-wal to a new primary.

import { ClusterError } from '../../../errors.ts';
import { waitFor } from '../../../wait.ts';
import type { PostgresNodeHandle } from '../postgres-node.ts';
import { streamingDirectory, type BarmanConf } from './conf.ts';

/** How often the loop looks for work, the shortest time between two runs, and the longest it goes without one. */
export const CRON_CHECK_S = 0.5;
export const CRON_SPACING_S = 2;
export const CRON_EVERY_S = 10;
export const RECEIVE_WAL_LOG = '/var/log/faultline/barman-receive-wal.log';
export const CRON_LOG = '/var/log/faultline/barman-cron.log';
const CRON_PAUSE = '/run/faultline-barman-cron.pause';
const CRON_PID = '/run/faultline-barman-cron.pid';
/** The cron run's own process (runuser's child), not the loop whose text names it. */
const CRON_RUN = "'^/usr/bin/python3 /usr/bin/barman -q cron'";

/**
 * A shell test that holds when `barman cron` has work for the server: what archive-wal would move
 * (files in incoming; in streaming, every complete file but the newest when no .partial follows it,
 * as Barman's streaming archiver leaves that one for pg_receivewal), a backup waiting for WAL, or,
 * with streaming_archiver on, no pg_receivewal running.
 */
export function cronWork(conf: BarmanConf): string {
  const dir = `${conf.home}/${conf.server}`;
  const streaming = streamingDirectory(conf.home, conf.server);
  const tests = [
    `[ -n "$(ls -A ${dir}/incoming 2>/dev/null)" ]`,
    `{ c=$(ls ${streaming} 2>/dev/null | grep -v -c -E '\\.(partial|tmp)$'); p=$(ls ${streaming} 2>/dev/null | grep -c '\\.partial$'); [ "$c" -ge 2 ] || [ "$p" -ge 2 ] || { [ "$c" -ge 1 ] && [ "$p" -ge 1 ]; }; }`,
    `grep -qs '^status=WAITING_FOR_WALS' ${dir}/base/*/backup.info`,
    ...(conf.streaming ? ['! pgrep -u postgres -x pg_receivewal >/dev/null'] : []),
  ];
  return tests.join(' || ');
}

/** Starts the cron loop (as root, detached); idempotent. */
export async function startCron(archive: PostgresNodeHandle, conf: BarmanConf): Promise<void> {
  const loop =
    `last=0; while :; do now=$(date +%s); if [ ! -e ${CRON_PAUSE} ] && [ $((now - last)) -ge ${CRON_SPACING_S} ] && { [ $((now - last)) -ge ${CRON_EVERY_S} ] || ${cronWork(conf)}; }; then last=$now; ` +
    `{ echo "== $(date -u +%FT%T.%3NZ)"; runuser -u postgres -- env HOME=/var/lib/postgresql barman -q cron; } >>${CRON_LOG} 2>&1; fi; sleep ${CRON_CHECK_S}; done`;
  await archive.run(['bash', '-c', `[ -s ${CRON_PID} ] && kill -0 "$(cat ${CRON_PID})" 2>/dev/null && exit 0; setsid bash -c "$0" faultline-barman-cron </dev/null >/dev/null 2>&1 & echo $! >${CRON_PID}`, loop], { user: 'root' });
}

/** Holds the cron loop's runs (the one under way ends first), or lets them go on. */
export async function pauseCron(archive: PostgresNodeHandle, paused: boolean): Promise<void> {
  if (!paused) {
    await archive.run(['rm', '-f', CRON_PAUSE], { user: 'root' });
    return;
  }
  await archive.run(['bash', '-c', `touch ${CRON_PAUSE}; for _ in $(seq 1 600); do pgrep -f ${CRON_RUN} >/dev/null || exit 0; sleep 0.05; done; echo 'barman cron still running after 30 s' >&2; exit 1`], { user: 'root' });
}

/** Starts `barman receive-wal <server>` in the background, its output in RECEIVE_WAL_LOG. */
export async function startReceiveWal(archive: PostgresNodeHandle, conf: BarmanConf): Promise<void> {
  await archive.run(['bash', '-c', `cd / && setsid barman receive-wal "$0" >>${RECEIVE_WAL_LOG} 2>&1 </dev/null &`, conf.server]);
}

/** Stops receive-wal (Barman's --stop, then whatever pg_receivewal of it is left) and waits until none runs. */
export async function stopReceiveWal(archive: PostgresNodeHandle, conf: BarmanConf): Promise<void> {
  await archive.exec(['barman', 'receive-wal', '--stop', conf.server]);
  const gone = await archive.exec(['bash', '-c', `for _ in $(seq 1 200); do pgrep -u postgres -x pg_receivewal >/dev/null || exit 0; sleep 0.05; done; pkill -KILL -u postgres -x pg_receivewal; sleep 0.2; ! pgrep -u postgres -x pg_receivewal`], { user: 'root' });
  if (gone.exitCode !== 0) throw new ClusterError(`pg_receivewal of barman receive-wal still runs on ${archive.name} after --stop and SIGKILL`);
}

/** Waits until the primary sees receive-wal stream (by its application_name); returns what it saw. */
export async function waitForReceiveWal(primary: PostgresNodeHandle, archive: PostgresNodeHandle, conf: BarmanConf, timeoutMs = 30_000): Promise<void> {
  const tail = async () => (await archive.exec(['tail', '-n', '5', RECEIVE_WAL_LOG])).stdout.trim();
  await waitFor(
    {
      what: `barman receive-wal on ${archive.name} to stream from ${primary.name} (application_name '${conf.applicationName}')`,
      timeoutMs,
      intervalMs: 100,
      error: (message) => new ClusterError(message),
    },
    async (seen) => {
      const state = await primary.replicationState(conf.applicationName);
      seen(state);
      return state === 'streaming' ? true : undefined;
    },
  ).catch(async (error: unknown) => {
    throw new ClusterError(`${error instanceof Error ? error.message : String(error)}; receive-wal's log ends: ${await tail()}`, { cause: error });
  });
}
