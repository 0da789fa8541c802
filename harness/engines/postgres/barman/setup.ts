// The Barman server on the archive node: its configuration (barman.conf, the server's file), the
// superuser's password in ~/.pgpass, barman_home on the archive node's volume, receive-wal streaming
// from the primary, the cron loop, one WAL segment archived (so that Barman's "WAL archive" check
// can pass), then `barman check`, whose verdict goes into the run's log as Barman's own opinion;
// then everything the set-up made is made durable.

import type { BackupToolSetUp } from '../backup-tool.ts';
import type { PostgresNodeHandle } from '../postgres-node.ts';
import { barman, barmanOk, said } from './command.ts';
import { BARMAN_CONF, BARMAN_CONF_DIR, renderBarmanFiles, serverFile, type BarmanConf } from './conf.ts';
import { CRON_CHECK_S, CRON_EVERY_S, CRON_SPACING_S, startCron, startReceiveWal, waitForReceiveWal } from './processes.ts';
import { clusterConf, describeMappings } from './site.ts';
import { topologyWalArchive } from './wal-archive.ts';
import { withWalFlowing } from '../wal-flow.ts';
import { trustSsh } from '../user-archive/ssh.ts';

/** Writes the two configuration files (as root: they are the host's, in /etc). */
export async function writeConf(archive: PostgresNodeHandle, conf: BarmanConf): Promise<void> {
  const files = renderBarmanFiles(conf);
  await archive.run(
    ['bash', '-c', `set -e; mkdir -p ${BARMAN_CONF_DIR}; rm -f ${BARMAN_CONF_DIR}/*.conf; printf '%s' "$FL_MAIN" >${BARMAN_CONF}; printf '%s' "$FL_SERVER" >"$0"; chmod 644 ${BARMAN_CONF} "$0"`, serverFile(conf)],
    { user: 'root', env: { FL_MAIN: files.main, FL_SERVER: files.server } },
  );
}

/** `barman check <server>`, as one line: its exit code and each check's result. */
export async function barmanCheck(archive: PostgresNodeHandle, conf: BarmanConf): Promise<{ exitCode: number; output: string; line: string }> {
  const record = await barman(archive, ['check', conf.server]);
  const output = said(record);
  const checks = output.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
  const failed = checks.filter((c) => /: FAILED/.test(c));
  const line = `barman check ${conf.server}: exit ${record.exitCode}, ${failed.length === 0 ? `all ${checks.length} checks OK` : `FAILED: ${failed.join('; ')} (${checks.length - failed.length} of ${checks.length} OK)`}`;
  return { exitCode: record.exitCode, output, line };
}

export async function setUpBarman({ topology, primary, archive, nodes }: BackupToolSetUp): Promise<string> {
  const sshParts: string[] = [];
  const conf = clusterConf(topology, primary.name);
  await writeConf(archive, conf);
  await archive.run(['bash', '-c', `set -e; umask 077; printf '*:*:*:postgres:%s\\n*:*:replication:postgres:%s\\n' "$FL_PASSWORD" "$FL_PASSWORD" >"$HOME/.pgpass"; mkdir -p "$0"`, conf.home]);
  const pushed = topologyWalArchive(topology);
  if (pushed) {
    // barman-wal-archive logs in as its user (barman by default) and runs barman put-wal: that
    // account is the one Barman runs as here (the volume's owner), under the name the command uses.
    await archive.run(['bash', '-c', 'set -e; u="$0"; id "$u" >/dev/null 2>&1 || useradd -M -d /var/lib/barman -s /bin/bash "$u"; [ "$u" = postgres ] || usermod -o -u "$(id -u postgres)" -g postgres "$u"', pushed.user], { user: 'root' });
    const aliases = pushed.host === archive.name ? [] : [pushed.host];
    const servers = nodes.filter((n) => n.spec.role !== 'archive');
    sshParts.push(await trustSsh({ server: archive, users: [pushed.user], aliases, clients: servers }));
  }
  const version = (await barmanOk(archive, ['--version'])).stdout.trim().split(' ')[0];
  const parts = [`Barman ${version} on ${archive.name} backs up ${primary.name} as server '${conf.server}' (barman_home ${conf.home})`];
  if (conf.streaming) {
    // The slot (slot_name is always faultline's) was made as the primary was initialised: reservesSlot.
    await startReceiveWal(archive, conf);
    await waitForReceiveWal(primary, archive, conf);
    parts.push(`barman receive-wal streams as '${conf.applicationName}'${conf.slot ? ` through slot '${conf.slot}'` : ' without a slot'}`);
  }
  await startCron(archive, conf);
  parts.push(`barman cron when it has work (looked for every ${CRON_CHECK_S} s), at most every ${CRON_SPACING_S} s and at least every ${CRON_EVERY_S} s`);
  // Barman's "WAL archive" check fails until it has archived one segment: close one and wait for it
  // (with WAL flowing after the switch, as on a primary in service: see wal-flow.ts).
  const switched = await withWalFlowing(primary, barman(archive, ['switch-wal', '--force', '--archive', '--archive-timeout', '60', conf.server]));
  parts.push(switched.exitCode === 0 ? `first WAL segment archived (barman switch-wal --archive, ${switched.durationMs} ms)` : `barman switch-wal --archive failed (exit ${switched.exitCode}): ${said(switched).split('\n').at(-1)}`);
  parts.push(describeMappings(conf));
  parts.push((await barmanCheck(archive, conf)).line);
  // What the set-up made is durable, as on a Barman host that has run for a long time: a power loss
  // then takes only what Barman itself did not make durable since (barman_home's own entry included).
  await archive.run(['fl-sync', conf.home], { user: 'root' });
  return [...parts, ...sshParts].join('; ');
}
