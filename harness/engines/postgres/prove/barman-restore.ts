// Restoring from a Barman catalogue mounted read-only: `barman recover --get-wal` in the scratch node,
// then WAL fetched by `barman get-wal --keep-compression` and decompressed in the node (see fetchScript).

import type { InspectedBackup, ProveContext, ToolReading } from '../../../cluster/prove-ability.ts';
import { PGDATA, VOLUME_MOUNT } from '../postgres-node.ts';
import { readPgVerifyBackup } from '../verification.ts';
import { BARMAN_PROVE_CONF, BARMAN_PROVE_LOG, BARMAN_PROVE_TMP, type BarmanDetails } from './barman.ts';
import { configure, dataBytes, lastLines, RestoreFailed, scratchSettings, toolReading, withProgress } from './restore.ts';
import { ownData, type ScratchNode } from './scratch.ts';

/**
 * restore_command for the catalogue: the segment as Barman stores it, decompressed here by its magic
 * number, as barman-wal-restore does: get-wal's own decompression writes a temporary file into the
 * catalogue's wals folder, which is read-only here.
 */
const FETCH_BARMAN_WAL = '/usr/local/bin/fl-prove-barman-wal';

/** What Barman says when it was asked wrongly (faultline's failure), not when the backup's files fail it. */
const OWN_ERRORS = /Unknown server|Unknown backup|must be run as|Inactive server|is disabled|usage: barman|unrecognized arguments|invalid choice|Permission denied: '\/(tmp|etc|var\/log)|\block(file)?\b|ConfigParser|Parsing error|Read-only file system|Traceback/i;

function fetchScript(server: string): string {
  const py = (module: string) => `python3 -c 'import ${module},shutil,sys; shutil.copyfileobj(${module}.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$t" "$p"`;
  return [
    '#!/bin/bash',
    '# fl-prove-barman-wal FILE PATH: restore_command for the read-only Barman catalogue (barman get-wal',
    '# --keep-compression, decompressed here as barman-wal-restore does: get-wal would write into the catalogue).',
    `f=$1; p=$2; t="$p.fl-barman"`,
    `barman -c ${BARMAN_PROVE_CONF} get-wal --keep-compression ${server} "$f" > "$t" || { rm -f "$t"; exit 1; }`,
    `case "$(head -c 6 "$t" | od -An -tx1 | tr -d ' \\n')" in`,
    `  1f8b*) gzip -dc "$t" > "$p" ;;`,
    `  425a68*) ${py('bz2')} ;;`,
    `  fd377a585a00) ${py('lzma')} ;;`,
    `  04224d18*) lz4 -dcq "$t" > "$p" ;;`,
    `  28b52ffd*) zstd -dcq "$t" > "$p" ;;`,
    // Stored uncompressed (a WAL page header), or in a form PostgreSQL will refuse, which replay then reports.
    `  *) mv "$t" "$p"; exit $? ;;`,
    'esac',
    'rc=$?; rm -f "$t"; exit $rc',
  ].join('\n');
}

/**
 * `barman recover --get-wal` of the inspected backup into PGDATA, with the scratch barman.conf, as
 * the postgres user (barman_user); then faultline's settings, restore_command the script above.
 * Targets are given to recover too, so that Barman checks them against the backup as it would for the user.
 */
export async function restoreWithBarman(scratch: ScratchNode, backup: InspectedBackup, context: ProveContext): Promise<string[]> {
  const details = backup.details as unknown as BarmanDetails;
  const node = scratch.node;
  await node.run(
    ['bash', '-c', `set -e; printf '%s' "$FL_CONF" > ${BARMAN_PROVE_CONF}; printf '%s\\n' "$FL_SCRIPT" > ${FETCH_BARMAN_WAL}; chmod 0644 ${BARMAN_PROVE_CONF}; chmod 0755 ${FETCH_BARMAN_WAL}; ` +
      `mkdir -p ${BARMAN_PROVE_TMP}/lock ${BARMAN_PROVE_TMP}/incoming ${BARMAN_PROVE_TMP}/streaming ${BARMAN_PROVE_TMP}/errors ${VOLUME_MOUNT}/barman-staging /var/log/faultline; touch ${BARMAN_PROVE_LOG}; ` +
      `chown -R postgres:postgres ${BARMAN_PROVE_TMP} ${VOLUME_MOUNT} ${BARMAN_PROVE_LOG}`],
    { user: 'root', env: { FL_CONF: details.conf, FL_SCRIPT: fetchScript(details.server) } },
  );
  const target = context.target;
  const targets = target.kind === 'time' ? ['--target-time', target.time.toISOString(), '--target-action', 'promote'] : target.kind === 'lsn' ? ['--target-lsn', target.lsn, '--target-action', 'promote'] : [];
  const command = ['barman', '-c', BARMAN_PROVE_CONF, 'recover', '--get-wal', ...targets, details.server, details.backupId, PGDATA];
  const work = node.exec(command, { timeoutMs: 24 * 3600_000, env: { PYTHONUNBUFFERED: '1' } });
  const record = await withProgress(work, () => dataBytes(node), backup.bytes, 'barman recover', context.log);
  const output = `${record.stderr}${record.stdout}`;
  if (record.exitCode !== 0) {
    const errors = output.split('\n').filter((l) => /ERROR|Error|error/.test(l)).join(' / ') || lastLines(output);
    // Barman exits 1 for everything: its words tell how it was asked (faultline's failure) from what it could not copy (the backup's).
    if (OWN_ERRORS.test(output)) throw new Error(`barman recover refused how faultline ran it (exit ${record.exitCode}): ${errors}`);
    throw new RestoreFailed(`barman recover failed (exit ${record.exitCode}): ${errors}`);
  }
  await ownData(node);
  const notes = [`barman recover --get-wal of backup ${details.backupId} (server '${details.server}'), your options with the scratch node's lock and log paths; WAL fetched during replay by barman get-wal --keep-compression`];
  if (details.unarchived > 0) notes.push(`${details.unarchived} WAL file(s) wait in the server's incoming/streaming folders, not archived by Barman yet: not restored (barman recover would archive them first, writing into the catalogue)`);
  // The target is in postgresql.auto.conf as barman recover wrote it (recovery_target_time in a form
  // PostgreSQL accepts, and the promote action): faultline's settings add only restore_command.
  return [...notes, ...(await configure(scratch, scratchSettings({ kind: 'latest' }, `${FETCH_BARMAN_WAL} %f %p`)))];
}

/**
 * pg_verifybackup of what recover copied, against the backup's manifest (renamed by recover to
 * backup_manifest.<id>), before the server starts: the files recover rewrote or added are left out.
 */
export async function verifyBarmanRestore(scratch: ScratchNode, backup: InspectedBackup): Promise<ToolReading> {
  const details = backup.details as unknown as BarmanDetails;
  const manifest = `${PGDATA}/backup_manifest.${details.backupId}`;
  if (!details.manifest || (await scratch.node.exec(['test', '-f', manifest])).exitCode !== 0) return { tool: 'pg_verifybackup', verdict: 'skipped', detail: 'the backup has no backup_manifest' };
  const rewritten = ['postgresql.conf', 'postgresql.auto.conf', 'postgresql.conf.origin', 'postgresql.auto.conf.origin', '.barman-recover.info', `backup_manifest.${details.backupId}`, 'recovery.signal', 'standby.signal', 'barman_wal'];
  const command = ['pg_verifybackup', '--no-parse-wal', ...rewritten.flatMap((f) => ['-i', f]), '--manifest-path', manifest, PGDATA];
  const record = await scratch.node.exec(command, { timeoutMs: 24 * 3600_000 });
  const output = `${record.stdout}${record.stderr}`.trim();
  const reading = readPgVerifyBackup(record.exitCode, output);
  return toolReading('pg_verifybackup', reading, output, 'every file barman recover copied matches backup_manifest (the settings files recover rewrote left out; WAL is read by replay)');
}
