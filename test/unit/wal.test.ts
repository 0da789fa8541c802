import { describe, expect, it } from 'vitest';
import { compareLsn, findArchiveGap, findArchiveHoles, finishedBackupSegments, parseLsn, parseSegmentName, parseTimelineHistory, segmentName, timelineForSegment } from '../../harness/engines/postgres/wal.ts';

const MB16 = 16 * 1024 * 1024;

describe('WAL positions and segment names', () => {
  it('reads LSNs and orders them by their high half first', () => {
    expect(parseLsn('0/5000060')).toBe(0x5000060n);
    expect(parseLsn('1/0')).toBe(0x1_0000_0000n);
    expect(compareLsn('1/0', '0/FFFFFFFF')).toBe(1);
    expect(compareLsn('0/A', '0/A')).toBe(0);
    expect(() => parseLsn('5000060')).toThrow(/is not a WAL position/);
  });

  it('names segments as PostgreSQL does, across the 4 GiB boundary and for other segment sizes', () => {
    expect(segmentName(1, 5n, MB16)).toBe('000000010000000000000005');
    expect(segmentName(2, 256n, MB16)).toBe('000000020000000100000000');
    expect(segmentName(1, 0x1ffn, 64 * 1024 * 1024)).toBe('00000001000000070000003F');
    expect(parseSegmentName('000000020000000100000000.partial', MB16)).toEqual({ timeline: 2, segment: 256n });
    expect(parseSegmentName('000000010000000000000003-8f0c1d2e3a.lz4', MB16)).toEqual({ timeline: 1, segment: 3n });
    expect(parseSegmentName('00000002.history', MB16)).toBeUndefined();
  });
});

describe('findArchiveGap: did replay reach the end of the archive?', () => {
  const names = (timeline: number, ...segments: number[]) => segments.map((s) => segmentName(timeline, BigInt(s), MB16));

  it('is satisfied when replay ended inside the newest segment (pg_receivewal: the .partial)', () => {
    const archived = [...names(1, 2, 3, 4), `${names(1, 5)[0]}.partial`, '00000001.history'];
    expect(findArchiveGap('0/5123456', 1, archived, MB16)).toBeUndefined();
  });

  it('is satisfied when replay ended at the boundary after the newest segment (archive_command ships whole ones)', () => {
    expect(findArchiveGap('0/6000000', 1, names(1, 3, 4, 5), MB16)).toBeUndefined();
  });

  it('names the missing segment when the archive holds WAL past the point replay stopped', () => {
    const gap = findArchiveGap('0/5000000', 1, names(1, 3, 4, 6, 7), MB16)!;
    expect(gap.missing).toEqual(['000000010000000000000005']);
    expect(gap.archiveEndsIn).toBe('000000010000000000000007');
    expect(gap.reason).toMatch(/segment 000000010000000000000005 missing from the archive, which holds WAL up to 000000010000000000000007; replay stopped at 0\/5000000/);
  });

  it('calls a segment damaged when it is there but replay stopped inside it with more WAL after it', () => {
    const gap = findArchiveGap('0/4A00010', 1, names(1, 3, 4, 5), MB16)!;
    expect(gap.missing).toEqual([]);
    expect(gap.stoppedIn).toBe('000000010000000000000004');
    expect(gap.reason).toMatch(/inside 000000010000000000000004, which the archive holds but which cannot be read past that point \(damaged\)/);
  });

  it('says a segment could not be read at all when replay stopped at its start', () => {
    expect(findArchiveGap('0/5000000', 1, names(1, 4, 5, 6), MB16)!.reason).toMatch(/replay stopped at 0\/5000000 at the start of 000000010000000000000005, which the archive holds but which cannot be read \(damaged\)/);
  });

  it('counts only the timeline that was replayed, and shortens a long list of missing segments', () => {
    expect(findArchiveGap('0/5000000', 1, [...names(1, 4), ...names(2, 9)], MB16)).toBeUndefined();
    const gap = findArchiveGap('0/1000000', 1, names(1, 20), MB16)!;
    expect(gap.missing).toHaveLength(19);
    expect(gap.reason).toMatch(/segments 000000010000000000000001, 000000010000000000000002, 000000010000000000000003 … 000000010000000000000013 \(19\) missing/);
  });
});

describe('archive continuity across timelines', () => {
  // Timeline 1 until 0/5800028 (inside segment 5), timeline 2 until 0/7000000 (the start of 7), then 3.
  const history = parseTimelineHistory('1\t0/5800028\tno recovery target specified\n\n2\t0/7000000\tafter failover\n');
  const name = (tli: number, seg: number) => segmentName(tli, BigInt(seg), MB16);

  it('reads a timeline history file and picks the timeline a restore reads each segment from', () => {
    expect(history).toEqual([
      { parent: 1, switchLsn: '0/5800028' },
      { parent: 2, switchLsn: '0/7000000' },
    ]);
    expect([3, 4, 5, 6, 7, 8].map((s) => timelineForSegment(3, history, BigInt(s), MB16))).toEqual([1, 1, 2, 2, 3, 3]);
    expect(timelineForSegment(1, [], 9n, MB16)).toBe(1);
    expect(() => parseTimelineHistory('garbage')).toThrow(/is not a line of a timeline history file/);
  });

  it('finds no hole when every segment is held on the timeline its history needs', () => {
    const archived = [name(1, 3), name(1, 4), name(1, 5), `${name(2, 5)}-abc.lz4`, name(2, 6), name(3, 7), name(3, 8), '00000002.history', `${name(1, 6)}`];
    expect(findArchiveHoles(3, history, archived, MB16, 8n)).toEqual({ from: name(1, 3), missing: [] });
  });

  it('names the segment of the new timeline that is missing after a failover, even when the old timeline has one of that number', () => {
    const archived = [name(1, 3), name(1, 4), name(1, 5), name(1, 6), name(2, 5), name(3, 7), name(3, 8)];
    expect(findArchiveHoles(3, history, archived, MB16, 8n).missing).toEqual([name(2, 6)]);
  });

  it('does not count a .partial segment as held, and reports an archive that ends before the end of the run', () => {
    const archived = [name(1, 3), name(1, 4), `${name(1, 5)}.partial`];
    expect(findArchiveHoles(1, [], archived, MB16, 6n).missing).toEqual([name(1, 5), name(1, 6)]);
    expect(findArchiveHoles(1, [], [], MB16, 6n)).toEqual({ missing: [name(1, 6)] });
  });

  // What a restore drill left when the old primary was lost before its archiver sent the segment the
  // base backup began in: the backup's own pg_wal holds it (and the start of the next one, where the
  // restored primary forked). The archive has no hole for a restore of that backup.
  it("counts the segments a base backup holds finished in its own pg_wal, not the newest one it may have stopped inside", () => {
    const fork = parseTimelineHistory('1\t0/40002E8\tno recovery target specified\n');
    const archive = [name(1, 1), name(1, 2), name(2, 4), name(2, 5), '00000002.history'];
    expect(findArchiveHoles(2, fork, archive, MB16, 5n).missing).toEqual([name(1, 3)]);
    const inBackup = finishedBackupSegments([name(1, 4), name(1, 3), 'archive_status', 'summaries']);
    expect(inBackup).toEqual([name(1, 3)]);
    expect(findArchiveHoles(2, fork, [...archive, ...inBackup], MB16, 5n)).toEqual({ from: name(1, 1), missing: [] });
    // A backup whose pg_wal holds one segment: the stream may have stopped inside it, so it covers nothing.
    expect(finishedBackupSegments([name(1, 3)])).toEqual([]);
    expect(findArchiveHoles(2, fork, [...archive, ...finishedBackupSegments([name(1, 3)])], MB16, 5n).missing).toEqual([name(1, 3)]);
  });
});

describe('findArchiveGap after a failover', () => {
  const name = (tli: number, seg: number) => segmentName(tli, BigInt(seg), MB16);

  it('names the missing segment of the old timeline when replay along the new one stopped before the fork', () => {
    // Timeline 2 branched off inside segment 7; the archive lost timeline 1's segment 5.
    const history = parseTimelineHistory('1\t0/705E268\tno recovery target specified');
    const archived = [name(1, 3), name(1, 4), name(1, 6), name(1, 7), name(2, 7), name(2, 8), '00000002.history'];
    const gap = findArchiveGap('0/5000000', 2, archived, MB16, history)!;
    expect(gap.missing).toEqual([name(1, 5)]);
    expect(gap.reason).toBe(`the WAL chain is broken: segment ${name(1, 5)} missing from the archive, which holds WAL up to ${name(2, 8)}; replay stopped at 0/5000000`);
    expect(findArchiveGap('0/9000000', 2, archived, MB16, history)).toBeUndefined();
  });
});
