// The user's archive_command run as written (backupTool 'archive_command'), on real containers:
// `cp` into the backup host's mount restores; the backup host's power loss right after segments
// were archived keeps them behind an NFS export that commits on close and loses them behind one
// that does not (the drill finds the hole); rsync over SSH with --fsync and a sync of the directory
// keeps them; a user's script runs verbatim; a command that cannot run is refused, naming itself.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveCpPowerLossAsync, archiveCpPowerLossSync, archiveCpRehearsal, archiveLibrary, archiveRestoreCommand, archiveRsyncPowerLoss, archiveScript, CP_COMMAND, RSYNC_COMMAND, SCRIPT_PATH } from '../../experiments/archive-command.ts';
import { cli, historyOf, requireCheck, run } from '../helpers.ts';

type Event = { type: string; phase?: string; name?: string; outcome?: string; detail?: string };
const CONFIGS = join(import.meta.dirname, '../../experiments/configs');

/** What the cluster's start recorded of the backup tool's set-up. */
function setUpLine(result: { dir: string }): string {
  return historyOf<Event>(result).find((e) => e.type === 'run' && e.name?.startsWith('archive_command set up: '))!.name!;
}

describe("the user's archive_command, run as written", () => {
  it("restores what 'test ! -f … && cp' put in the backup host's mount", async () => {
    const result = await run(archiveCpRehearsal, 1);
    const rehearsal = requireCheck(result, 'restore-rehearsal');
    expect(rehearsal.valid, rehearsal.summary).toBe(true);
    expect(rehearsal.summary).toMatch(/WAL copied from pg-archive:\/var\/lib\/faultline\/data\/site/);
    expect(requireCheck(result, 'archive-continuity').valid).toBe(true);
    expect(result.writes.acknowledged).toBeGreaterThan(500);
    expect(result.verdict).toBe('pass');
  });

  it("fetches WAL with the user's restore_command as written, on the restored node", async () => {
    const result = await run(archiveRestoreCommand, 6);
    const rehearsal = requireCheck(result, 'restore-rehearsal');
    expect(rehearsal.valid, rehearsal.summary).toBe(true);
    expect(rehearsal.summary).toContain("WAL fetched by your restore_command 'cp /mnt/wal/%f %p' (topology, postgres.settings.restore_command)");
    expect(rehearsal.summary).toMatch(/replay reached the end of the archive/);
    expect(result.verdict).toBe('pass');
  });

  it("runs archive_library = 'basic_archive' into the backup host's mount", async () => {
    const result = await run(archiveLibrary, 7);
    expect(setUpLine(result)).toMatch(/^archive_command set up: the archive_command runs as written \(archive_library 'basic_archive', topology, postgres\.settings\.archive_library\); .*\/mnt\/archive is an NFS mount exported 'sync'.*archiving works: [0-9A-F]{24} archived/);
    expect(requireCheck(result, 'restore-rehearsal').valid).toBe(true);
    expect(requireCheck(result, 'archive-continuity').valid).toBe(true);
    expect(result.verdict).toBe('pass');
  });

  it('keeps segments cp copied (to a temporary name renamed into place) through the backup host’s power loss behind an NFS export that commits on close (nfs-sync)', async () => {
    const result = await run(archiveCpPowerLossSync, 2);
    const fault = historyOf<Event>(result).find((e) => e.type === 'fault' && e.name === 'power-loss' && e.phase === 'active')!;
    // The export committed each closed file and each rename: the power loss finds nothing un-synced to drop in the archive.
    expect(fault.detail).toMatch(/^power lost: pg-archive: \d+ un-synced bytes in \d+ files and \d+ directory changes dropped/);
    expect(requireCheck(result, 'faults-applied').valid).toBe(true);
    expect(requireCheck(result, 'archive-continuity').valid).toBe(true);
    expect(requireCheck(result, 'restore-rehearsal').valid).toBe(true);
    expect(result.verdict).toBe('pass');
  });

  it('finds the segments cp left un-synced lost with the backup host’s power behind an async export, and the restore stops at the hole', async () => {
    const result = await run(archiveCpPowerLossAsync, 3);
    const fault = historyOf<Event>(result).find((e) => e.type === 'fault' && e.name === 'power-loss' && e.phase === 'active')!;
    const dropped = Number(/pg-archive: (\d+) un-synced bytes/.exec(fault.detail!)![1]);
    expect(dropped).toBeGreaterThan(16 * 1024 * 1024); // at least one whole segment was never made durable
    const continuity = requireCheck(result, 'archive-continuity');
    expect(continuity.valid).toBe(false);
    expect(continuity.summary).toMatch(/the archive on pg-archive has a hole on timeline 1: [0-9A-F]{24}/);
    const rehearsal = requireCheck(result, 'restore-rehearsal');
    expect(rehearsal.valid).toBe(false);
    expect(rehearsal.summary).toMatch(/the WAL chain is broken: segments? [0-9A-F]{24}.* missing from the archive/);
    expect(result.verdict).toBe('fail');
    expect(result.documented.ok).toBe(true);
  });

  it('keeps rsync --fsync’s segments over SSH through the backup host’s power loss', async () => {
    const result = await run(archiveRsyncPowerLoss, 4);
    const events = historyOf<Event>(result);
    expect(events.find((e) => e.type === 'fault' && e.name === 'power-loss' && e.phase === 'active')!.detail).toMatch(/^power lost: pg-archive/);
    expect(requireCheck(result, 'archive-continuity').valid).toBe(true);
    const rehearsal = requireCheck(result, 'restore-rehearsal');
    expect(rehearsal.valid, rehearsal.summary).toBe(true);
    expect(result.verdict).toBe('pass');
    // backup-host, the name in the command, is the archive node on the run's network; its key is in known_hosts.
    expect(RSYNC_COMMAND).toContain('backup-host:');
    expect(setUpLine(result)).toMatch(/their known_hosts list pg-archive's key as pg-archive, backup-host/);
  });

  it('runs a user script verbatim, read-only', async () => {
    const result = await run(archiveScript, 5);
    expect(requireCheck(result, 'restore-rehearsal').valid).toBe(true);
    expect(result.verdict).toBe('pass');
    // The run's record says the script was installed read-only and ran as the archive_command.
    const setUp = setUpLine(result);
    expect(setUp).toContain(`the archive_command runs as written ('${SCRIPT_PATH} %p %f'`);
    expect(setUp).toContain(`${SCRIPT_PATH} installed read-only on every server, run as written`);
    expect(setUp).toMatch(/archiving works: [0-9A-F]{24} archived in \d+ ms/);
  });

  it('refuses a command that cannot run here, naming it and why, and a script it was not given', async () => {
    const walg = await cli(['validate', '--postgres-conf', join(CONFIGS, 'archive-wal-g/postgresql.conf'), '--drill', 'restore']);
    expect(walg.exitCode).toBe(2);
    expect(walg.stderr).toMatch(/archive_command = 'wal-g wal-push %p' \(.*archive-wal-g\/postgresql\.conf:\d+\): it runs 'wal-g', which Debian does not ship/);
    const script = await cli(['validate', '--postgres-conf', join(CONFIGS, 'archive-script/postgresql.conf'), '--drill', 'restore']);
    expect(script.exitCode).toBe(2);
    expect(script.stderr).toMatch(/it runs '\/usr\/local\/bin\/archive-wal\.sh'.*--archive-script \/usr\/local\/bin\/archive-wal\.sh=/);
    expect(CP_COMMAND).toMatch(/^test ! -f/);
  });
});
