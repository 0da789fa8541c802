// Restoring a user's PostgreSQL backup into the scratch node: fetched (copied or unpacked from the
// read-only mount, or `pgbackrest restore` with their own configuration), then set to replay to the
// target and promote, with nothing that could send data anywhere (no archiving, no upstream).

import type { InspectedBackup, ProveContext, RecoveryTarget, ToolReading } from '../../../cluster/prove-ability.ts';
import { formatBytes } from '../../../units.ts';
import { PGDATA, VOLUME_MOUNT } from '../postgres-node.ts';
import { readPgVerifyBackup, type Reading } from '../verification.ts';
import { pgTimestamp } from '../pgbackrest-restore.ts';
import { BASE_MOUNT, WAL_MOUNT, type BaseLayout } from './inspect.ts';
import { ownData, SOCKET_DIR, type ScratchNode } from './scratch.ts';

/** faultline's own pg_hba.conf for the scratch server: local connections only, trusted. */
const HBA_FILE = `${VOLUME_MOUNT}/prove-hba.conf`;
/** restore_command for a WAL archive directory: the segment, decompressed as its suffix says. */
const FETCH_WAL = '/usr/local/bin/fl-prove-wal';

/** Polls `measure` every few seconds while `work` runs, logging progress with an estimate of the time left. */
export async function withProgress<T>(work: Promise<T>, measure: () => Promise<number | undefined>, total: number, what: string, log: (line: string) => void): Promise<T> {
  const began = performance.now();
  const settled = work.then(() => true, () => true);
  const watch = (async () => {
    // Each pause ends early when the work does, so that a short step is not held up by its watcher.
    while (!(await Promise.race([settled, new Promise<false>((resolve) => setTimeout(() => resolve(false), 5000))]))) {
      const now = await measure().catch(() => undefined);
      if (now === undefined || now <= 0) continue;
      const rate = now / ((performance.now() - began) / 1000);
      const left = total > now && rate > 0 ? `, about ${Math.ceil((total - now) / rate)} s left` : '';
      log(`${what}: ${formatBytes(now)} of ${formatBytes(total)}${left}`);
    }
  })();
  try {
    return await work;
  } finally {
    await watch.catch(() => {});
  }
}

/** The settings the scratch server runs with, after the user's own: serve nobody, send nothing, fit the node. */
export function scratchSettings(target: RecoveryTarget, restoreCommand: string | undefined): string[] {
  const settings = [
    "listen_addresses = ''",
    // The local socket's name carries the port: the user's own (5433, say) is not the one psql asks for.
    'port = 5432',
    `unix_socket_directories = '${SOCKET_DIR}'`,
    `hba_file = '${HBA_FILE}'`,
    "archive_mode = 'off'",
    "primary_conninfo = ''",
    "primary_slot_name = ''",
    "synchronous_standby_names = ''",
    // Queries are refused until replay ends: then no standby setting has to match the primary's.
    "hot_standby = 'off'",
    "shared_buffers = '128MB'",
    "huge_pages = 'off'",
    "ssl = 'off'",
    "logging_collector = 'off'",
    "log_destination = 'stderr'",
    "shared_preload_libraries = ''",
    "recovery_target_timeline = 'latest'",
    "recovery_target_action = 'promote'",
  ];
  if (restoreCommand !== undefined) {
    settings.push(`restore_command = '${restoreCommand}'`);
    if (target.kind === 'time') settings.push(`recovery_target_time = '${pgTimestamp(target.time)}'`);
    if (target.kind === 'lsn') settings.push(`recovery_target_lsn = '${target.lsn}'`);
  }
  return settings;
}

/** Appends faultline's settings to postgresql.auto.conf (read last: they win) and writes its pg_hba.conf; notes a missing postgresql.conf. */
export async function configure(scratch: ScratchNode, settings: string[]): Promise<string[]> {
  const notes: string[] = [];
  const hasConf = (await scratch.node.exec(['test', '-f', `${PGDATA}/postgresql.conf`])).exitCode === 0;
  if (!hasConf) notes.push('the backup holds no postgresql.conf (a packaged server keeps it in /etc): the server ran with PostgreSQL\'s defaults and faultline\'s settings');
  const lines = ['', '# faultline prove-backup: a scratch server that serves nobody and sends nothing anywhere', ...settings].join('\n');
  await scratch.node.run([
    'bash',
    '-c',
    `set -e; ${hasConf ? '' : `touch ${PGDATA}/postgresql.conf; `}printf '%s\\n' "$FL_LINES" >> ${PGDATA}/postgresql.auto.conf; ` +
      `printf 'local all all trust\\n' > ${HBA_FILE}; rm -f ${PGDATA}/standby.signal ${PGDATA}/postmaster.pid; touch ${PGDATA}/recovery.signal`,
  ], { env: { FL_LINES: lines } });
  return notes;
}

/** The base backup copied or unpacked into PGDATA (and its pg_wal tar into pg_wal), as root, then given to postgres. */
export async function fetchBaseBackup(scratch: ScratchNode, layout: BaseLayout, total: number, log: (line: string) => void): Promise<void> {
  const node = scratch.node;
  const unpack =
    layout.format === 'plain'
      ? `cp -a ${BASE_MOUNT}/. ${PGDATA}/`
      : `tar -xf ${BASE_MOUNT}/${layout.baseTar} -C ${PGDATA}${layout.walTar ? ` && tar -xf ${BASE_MOUNT}/${layout.walTar} -C ${PGDATA}/pg_wal` : ''}`;
  const work = node.exec(['bash', '-c', `set -e; mkdir -p ${PGDATA}; ${unpack}; mkdir -p ${PGDATA}/pg_wal`], { user: 'root', timeoutMs: 24 * 3600_000 });
  const record = await withProgress(work, () => dataBytes(node), total, 'fetching the base backup', log);
  // A tar that does not unpack, or a file that cannot be read, is the backup's fault: evidence.
  if (record.exitCode !== 0) throw new RestoreFailed(`the base backup could not be ${layout.format === 'plain' ? 'copied' : 'unpacked'}: ${lastLines(`${record.stderr}${record.stdout}`)}`);
  await ownData(node);
}

/** The restore_command script for a WAL archive directory (uncompressed, .gz or .lz4 segments). */
export async function installWalFetch(scratch: ScratchNode): Promise<void> {
  const script = [
    '#!/bin/bash',
    '# fl-prove-wal FILE PATH: restore_command for the read-only WAL archive; decompresses by suffix.',
    `d=${WAL_MOUNT}; f=$1; p=$2`,
    'if [ -f "$d/$f" ]; then exec cp "$d/$f" "$p"; fi',
    'if [ -f "$d/$f.gz" ]; then gzip -dc "$d/$f.gz" > "$p.fl" && exec mv "$p.fl" "$p"; fi',
    'if [ -f "$d/$f.lz4" ]; then lz4 -dcq "$d/$f.lz4" > "$p.fl" && exec mv "$p.fl" "$p"; fi',
    'exit 1',
  ].join('\n');
  await scratch.node.run(['bash', '-c', `printf '%s\\n' "$FL_SCRIPT" > ${FETCH_WAL} && chmod 0755 ${FETCH_WAL}`], { user: 'root', env: { FL_SCRIPT: script } });
}

/**
 * pg_verifybackup against the backup's manifest, on the backup as fetched and before the server
 * touched it: a plain backup where it is mounted, a tar backup unpacked in PGDATA. WAL is parsed
 * when the backup carries its own (-X fetch or stream); replay reads the archive's anyway.
 */
export async function verifyAgainstManifest(scratch: ScratchNode, layout: BaseLayout, uncompressedArchive: boolean): Promise<ToolReading> {
  if (!layout.manifest) return { tool: 'pg_verifybackup', verdict: 'skipped', detail: 'the backup has no backup_manifest (taken with --no-manifest, or before PostgreSQL 13)' };
  const dir = layout.format === 'plain' ? BASE_MOUNT : PGDATA;
  // WAL is parsed from the backup when it carries its own (-X fetch or stream), else from an
  // uncompressed WAL archive; a compressed archive is read by replay only.
  const carries = (await scratch.node.exec(['bash', '-c', `ls -1 ${dir}/pg_wal 2>/dev/null | grep -qE '^[0-9A-F]{24}$'`])).exitCode === 0;
  const walFrom = carries ? [] : uncompressedArchive ? ['--wal-directory', WAL_MOUNT] : ['--no-parse-wal'];
  const command = ['pg_verifybackup', ...walFrom, '--manifest-path', `${BASE_MOUNT}/${layout.manifest}`, dir];
  const record = await scratch.node.exec(command, { user: 'root', timeoutMs: 24 * 3600_000 });
  const output = `${record.stdout}${record.stderr}`.trim();
  const reading = readPgVerifyBackup(record.exitCode, output);
  const scope = carries ? 'files, and the WAL it carries' : uncompressedArchive ? 'files, and its WAL from the archive' : 'files (its WAL is compressed in the archive: replay reads it)';
  return toolReading('pg_verifybackup', reading, output, `every file matches backup_manifest (${scope})`);
}

/** Base backup + WAL archive: recovery set up with faultline's restore_command (or none: the backup alone). */
export async function prepareBaseRecovery(scratch: ScratchNode, target: RecoveryTarget, hasArchive: boolean): Promise<string[]> {
  if (hasArchive) await installWalFetch(scratch);
  // Without an archive, replay uses what the backup carries in pg_wal: restore_command that finds nothing.
  return configure(scratch, scratchSettings(target, hasArchive ? `${FETCH_WAL} %f %p` : '/bin/false'));
}

/** pgBackRest's restore with the user's configuration (their options, the scratch node's paths): it writes restore_command itself. */
export async function restoreWithPgBackRest(scratch: ScratchNode, backup: InspectedBackup, context: ProveContext): Promise<string[]> {
  const { stanza, conf } = backup.details as { stanza: string; conf: string };
  const node = scratch.node;
  await node.run(['bash', '-c', `mkdir -p /etc/pgbackrest /var/log/pgbackrest && printf '%s' "$FL_CONF" > /etc/pgbackrest/pgbackrest.conf && chmod 0644 /etc/pgbackrest/pgbackrest.conf && chown postgres:postgres /var/log/pgbackrest ${VOLUME_MOUNT}`], { user: 'root', env: { FL_CONF: conf } });
  const target = context.target;
  // A target and its action; without one, replay goes to the end of the archive (and the settings promote).
  const type = target.kind === 'time' ? ['--type=time', `--target=${pgTimestamp(target.time)}`, '--target-action=promote'] : target.kind === 'lsn' ? ['--type=lsn', `--target=${target.lsn}`, '--target-action=promote'] : ['--type=default'];
  const command = ['pgbackrest', `--stanza=${stanza}`, ...type, '--target-timeline=latest', '--archive-mode=off', '--log-level-console=warn', 'restore'];
  const work = node.exec(['bash', '-c', `mkdir -p ${PGDATA} && chmod 0700 ${PGDATA} && exec "$@"`, 'restore', ...command], { timeoutMs: 24 * 3600_000 });
  const record = await withProgress(work, () => dataBytes(node), backup.bytes, 'pgbackrest restore', context.log);
  const said = lastLines(`${record.stderr}${record.stdout}`);
  // Its own assertion, configuration and option errors, or a data directory not empty: faultline asked wrongly.
  if (OWN_ERRORS.has(record.exitCode)) throw new Error(`pgbackrest restore refused how faultline ran it (exit ${record.exitCode}): ${said}`);
  if (record.exitCode !== 0) throw new RestoreFailed(`pgbackrest restore failed (exit ${record.exitCode}): ${said}`);
  return configure(scratch, scratchSettings(target, undefined));
}

/** pgBackRest's error codes for how it was run, not for what the repository holds (AssertError, ConfigError, CommandRequired, the Option* errors, PathNotEmpty). */
const OWN_ERRORS = new Set([25, 27, 30, 31, 32, 33, 34, 35, 36, 37, 40]);

/** The restore itself failed (a damaged or missing backup file): evidence about the backup, not faultline's failure. */
export class RestoreFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreFailed';
  }
}

/**
 * A verification tool's reading as the proof records it: its verdict (the readers' verdicts are the
 * proof's own), and in words what it checked, the last lines of what it found, or why it could not tell.
 */
export function toolReading(tool: string, reading: Reading, output: string, checked: string, foundLines = 4): ToolReading {
  const detail = reading.verdict === 'ok' ? checked : reading.verdict === 'damaged' ? lastLines(output, foundLines) : (reading.why ?? lastLines(output));
  return { tool, verdict: reading.verdict, detail };
}

/** The bytes the data directory holds so far: how far a copy or restore into it has come. */
export async function dataBytes(node: ScratchNode['node']): Promise<number> {
  return Number((await node.exec(['du', '-sb', PGDATA], { user: 'root' })).stdout.split(/\s/)[0]);
}

export function lastLines(text: string, count = 4): string {
  const lines = text.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.slice(-count).join(' / ') || 'no output';
}
