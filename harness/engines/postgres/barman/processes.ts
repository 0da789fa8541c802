// Barman's long-running processes on the Barman host: `barman receive-wal` (pg_receivewal into the
// streaming directory) and a stand-in for the system cron that runs `barman cron`.
//
// `barman cron` runs every CRON_INTERVAL_S seconds, from a loop owned by root: it moves the WAL
// receive-wal completed into the archive (archive-wal), marks backups waiting for WAL as done, and
// starts receive-wal again when it is not running, as Debian's /etc/cron.d/barman does every minute
// (a drill cannot wait a minute). Barman itself runs as postgres, the archive volume's owner, so a
// power loss on the archive node kills receive-wal and any barman command, but not this loop: as
// the system cron after a reboot, its next run starts receive-wal again (possibly before the fault
// is healed). followPrimary pauses it while it moves receive-wal to a new primary.

import { ClusterError } from '../../../errors.ts';
import { waitFor } from '../../../wait.ts';
import type { PostgresNodeHandle } from '../postgres-node.ts';
import type { BarmanConf } from './conf.ts';

export const CRON_INTERVAL_S = 2;
export const RECEIVE_WAL_LOG = '/var/log/faultline/barman-receive-wal.log';
export const CRON_LOG = '/var/log/faultline/barman-cron.log';
const CRON_PAUSE = '/run/faultline-barman-cron.pause';
const CRON_PID = '/run/faultline-barman-cron.pid';
/** The cron run's own process (runuser's child), not the loop whose text names it. */
const CRON_RUN = "'^/usr/bin/python3 /usr/bin/barman -q cron'";

/** Starts the cron loop (as root, detached); idempotent. */
export async function startCron(archive: PostgresNodeHandle): Promise<void> {
  const loop =
    `while :; do [ -e ${CRON_PAUSE} ] || { echo "== $(date -u +%FT%T.%3NZ)"; runuser -u postgres -- env HOME=/var/lib/postgresql barman -q cron; } >>${CRON_LOG} 2>&1; sleep ${CRON_INTERVAL_S}; done`;
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
