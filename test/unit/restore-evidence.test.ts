// What a restore records about its archive: how many WAL segments it held past the base backup
// (as the repository lists them), and how WAL reaches it.
import { describe, expect, it } from 'vitest';
import { segmentsFrom } from '../../harness/engines/postgres/wal.ts';
import { archiveModeOf } from '../../harness/engines/postgres/restore-evidence.ts';
import type { StartedPostgresCluster } from '../../harness/engines/postgres/started-cluster.ts';

describe('the WAL an archive holds past a base backup', () => {
  it('is none when the archive received none (an archive_command that copies nothing)', () => {
    expect(segmentsFrom([], '000000010000000000000003')).toEqual({ count: 0 });
    // History files and backup labels are not segments.
    expect(segmentsFrom(['00000002.history', '000000010000000000000003.00000028.backup'], '000000010000000000000003')).toEqual({ count: 0 });
  });

  it("counts segments from the backup's start on, of any timeline, complete or not, and names the newest", () => {
    const streamed = ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003', '000000010000000000000004', '000000020000000000000004.partial'];
    expect(segmentsFrom(streamed, '000000010000000000000003')).toEqual({ count: 3, last: '000000020000000000000004' });
  });

  it("reads pgBackRest's archived names (with their checksum and compression suffixes)", () => {
    const pushed = ['archive.info', '000000010000000000000003-6c0cbe7c4d6d3b94e3b1c4a7e0f1f3a2b5c6d7e8.lz4', '000000010000000000000004-0a1b2c3d4e5f60718293a4b5c6d7e8f901234567.lz4'];
    expect(segmentsFrom(pushed, '000000010000000000000004')).toEqual({ count: 1, last: '000000010000000000000004' });
  });
});

describe('how WAL reaches the archive', () => {
  const cluster = (postgres: object) =>
    ({
      archive: () => ({ name: 'pg-archive' }),
      topology: { postgres: { backupTool: 'pg_receivewal', archiveWal: 'stream', synchronousStandbyNames: '', synchronousCommit: 'on', applied: { server: [] }, ...postgres } },
    }) as unknown as StartedPostgresCluster;

  it('is asynchronous with pgBackRest (a segment once complete) and with a stream no commit waits for', () => {
    expect(archiveModeOf(cluster({ backupTool: 'pgbackrest' })).archive).toBe('archive_command');
    expect(archiveModeOf(cluster({})).archive).toBe('streamed');
    // A quorum the replica can meet alone does not make every commit wait for the archive.
    expect(archiveModeOf(cluster({ synchronousStandbyNames: 'ANY 1 (pg-replica, pg-archive)' })).archive).toBe('streamed');
  });

  it('is synchronous only when every commit waits for the archive, and none when it receives no WAL', () => {
    expect(archiveModeOf(cluster({ synchronousStandbyNames: 'ANY 2 (pg-replica, pg-archive)' })).archive).toBe('synchronous');
    // The user's own settings come last and win.
    expect(archiveModeOf(cluster({ synchronousStandbyNames: 'pg-archive', applied: { server: ["synchronous_commit = 'local'"] } })).archive).toBe('streamed');
    expect(archiveModeOf(cluster({ archiveWal: 'none' }))).toEqual({ archive: 'none', how: 'pg-archive receives no WAL, only base backups, as behind an archive_command that copies nothing' });
  });
});
