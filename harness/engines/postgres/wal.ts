// WAL positions and segment file names, and the question a restore must answer before it claims
// success: did replay reach the end of the archive, or did it stop at a hole in the chain?
// Pure logic: no cluster, so the unit tests can try every edge.

/** An LSN as PostgreSQL prints it ('16/B374D848') as a byte position. */
export function parseLsn(lsn: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!match) throw new Error(`'${lsn}' is not a WAL position (expected two hex numbers joined by '/', like 0/5000060)`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function compareLsn(a: string, b: string): number {
  const diff = parseLsn(a) - parseLsn(b);
  return diff > 0n ? 1 : diff < 0n ? -1 : 0;
}

const SEGMENT_NAME = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})/;

/** A WAL segment file name (timeline, then segment number in two halves) for `segmentBytes`. */
export function segmentName(timeline: number, segment: bigint, segmentBytes: number): string {
  const perId = 0x1_0000_0000n / BigInt(segmentBytes);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(segment / perId)}${hex(segment % perId)}`;
}

/** Timeline and segment number of a WAL file name (its first 24 characters), or undefined. */
export function parseSegmentName(name: string, segmentBytes: number): { timeline: number; segment: bigint } | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (!match) return undefined;
  const perId = 0x1_0000_0000n / BigInt(segmentBytes);
  return { timeline: Number.parseInt(match[1]!, 16), segment: BigInt(`0x${match[2]}`) * perId + BigInt(`0x${match[3]}`) };
}

export interface ArchiveGap {
  /** The segment replay stopped in (or, at a segment boundary, the one it could not get). */
  stoppedIn: string;
  /** The newest segment the archive holds on that timeline. */
  archiveEndsIn: string;
  /** Segments between the two that the archive does not hold. */
  missing: string[];
  /** One line for the recovery record and the report. */
  reason: string;
}

/**
 * Did replay that ended at `endLsn` on `timeline` stop short of the archive? It did when the
 * archive holds a segment a restore along that timeline reads after the one replay stopped in:
 * PostgreSQL treats the first segment it cannot get (or read) as the end of the archive and
 * promotes, silently. `history` is the timeline's own history (its ancestors and where each
 * ended), so that each segment is looked for on the timeline a restore reads it from. Returns what
 * is missing, or that the segment it stopped in is there but unreadable; undefined when replay
 * reached the archive's end. `archived` are file names as the repository lists them (`.partial`,
 * `.gz`, pgBackRest's `-<sha1>.lz4` suffixes are ignored; `.history` files too).
 */
export function findArchiveGap(endLsn: string, timeline: number, archived: readonly string[], segmentBytes: number, history: readonly TimelineSwitch[] = []): ArchiveGap | undefined {
  const bytes = BigInt(segmentBytes);
  const stopped = parseLsn(endLsn) / bytes; // at a boundary: the segment it could not get
  const tliOf = (segment: bigint) => timelineForSegment(timeline, history, segment, segmentBytes);
  const held = new Set<bigint>();
  for (const file of archived) {
    if (file.endsWith('.history') || file.endsWith('.backup')) continue;
    const parsed = parseSegmentName(file, segmentBytes);
    if (parsed && parsed.timeline === tliOf(parsed.segment)) held.add(parsed.segment);
  }
  const last = [...held].reduce((a, b) => (b > a ? b : a), -1n);
  if (last <= stopped) return undefined;
  const name = (segment: bigint) => segmentName(tliOf(segment), segment, segmentBytes);
  const missing: string[] = [];
  for (let segment = stopped; segment < last; segment++) if (!held.has(segment)) missing.push(name(segment));
  const stoppedIn = name(stopped);
  const archiveEndsIn = name(last);
  const shown = missing.length > 4 ? `${missing.slice(0, 3).join(', ')} … ${missing.at(-1)} (${missing.length})` : missing.join(', ');
  const reason =
    missing.length > 0
      ? `the WAL chain is broken: segment${missing.length > 1 ? 's' : ''} ${shown} missing from the archive, which holds WAL up to ${archiveEndsIn}; replay stopped at ${endLsn}`
      : `the WAL chain is broken: replay stopped at ${endLsn} ${parseLsn(endLsn) % bytes === 0n ? 'at the start of' : 'inside'} ${stoppedIn}, which the archive holds but which cannot be read ${parseLsn(endLsn) % bytes === 0n ? '' : 'past that point '}(damaged), and the archive holds WAL up to ${archiveEndsIn}`;
  return { stoppedIn, archiveEndsIn, missing, reason };
}

/** One line of a timeline history file: `parent` ran until `switchLsn`, where its child began. */
export interface TimelineSwitch {
  parent: number;
  switchLsn: string;
}

/** Parses a `0000000N.history` file (lines "parentTLI  switchLSN  reason"; comments and blanks skipped). */
export function parseTimelineHistory(text: string): TimelineSwitch[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [parent, switchLsn] = line.split(/\s+/);
      if (!parent || !switchLsn || !/^\d+$/.test(parent)) throw new Error(`'${line}' is not a line of a timeline history file`);
      parseLsn(switchLsn);
      return { parent: Number(parent), switchLsn };
    });
}

/**
 * The timeline a restore following `timeline` reads segment `segment` from: the newest timeline of
 * its history that began at or before that segment (as PostgreSQL's recovery chooses it).
 */
export function timelineForSegment(timeline: number, history: readonly TimelineSwitch[], segment: bigint, segmentBytes: number): number {
  const bytes = BigInt(segmentBytes);
  // Each ancestor begins where the one before it ended; the final timeline begins at the last switch.
  let chosen = history[0]?.parent ?? timeline;
  for (let i = 0; i < history.length; i++) {
    const child = history[i + 1]?.parent ?? timeline;
    if (parseLsn(history[i]!.switchLsn) / bytes <= segment) chosen = child;
  }
  return chosen;
}

export interface ArchiveHoles {
  /** The oldest segment of the timeline's history the archive holds (the check starts there). */
  from?: string;
  /** Segments between `from` and `through` that the archive does not hold complete, on the timeline a restore needs. */
  missing: string[];
}

/**
 * Is the archive continuous for a restore of `timeline` up to segment `through`? Every segment from
 * the oldest one held (on a timeline of the history) to `through` must be held complete on the
 * timeline a restore would read it from. `.partial` files, backup labels and history files are not
 * segments. `archived` are file names as the repository lists them (pgBackRest suffixes ignored).
 */
export function findArchiveHoles(timeline: number, history: readonly TimelineSwitch[], archived: readonly string[], segmentBytes: number, through: bigint): ArchiveHoles {
  const ancestry = new Set([timeline, ...history.map((h) => h.parent)]);
  const held = new Set<string>();
  let oldest: bigint | undefined;
  for (const file of archived) {
    if (file.includes('.partial') || file.endsWith('.tmp') || file.endsWith('.history') || file.includes('.backup')) continue;
    const parsed = parseSegmentName(file, segmentBytes);
    if (!parsed || !ancestry.has(parsed.timeline)) continue;
    held.add(`${parsed.timeline}:${parsed.segment}`);
    if (oldest === undefined || parsed.segment < oldest) oldest = parsed.segment;
  }
  if (oldest === undefined) return { missing: [segmentName(timeline, through, segmentBytes)] };
  const missing: string[] = [];
  for (let segment = oldest; segment <= through; segment++) {
    const tli = timelineForSegment(timeline, history, segment, segmentBytes);
    if (!held.has(`${tli}:${segment}`)) missing.push(segmentName(tli, segment, segmentBytes));
  }
  return { from: segmentName(timelineForSegment(timeline, history, oldest, segmentBytes), oldest, segmentBytes), missing };
}

/**
 * The segments of a base backup's own pg_wal (as pg_basebackup -X stream or fetch left them) that
 * a restore of it can read whole: every one but the newest, which the stream may have stopped
 * inside (a segment is finished once the next one began). Names other than segments are ignored.
 */
export function finishedBackupSegments(pgWal: readonly string[]): string[] {
  const segments = pgWal.filter((name) => /^[0-9A-F]{24}$/.test(name)).sort();
  return segments.slice(0, -1);
}

/**
 * The WAL segments a restore of a base backup that began in segment `start` can replay past the
 * backup: those held from `start` on, of any timeline (restore_command may be asked for any),
 * complete or not (pg_receivewal's `.partial`, pgBackRest's `-<sha1>.lz4` suffixes are ignored).
 * History files and backup labels are not segments. `last` is the newest of them.
 */
export function segmentsFrom(archived: readonly string[], start: string | undefined): { count: number; last?: string } {
  const names = new Set<string>();
  for (const file of archived) {
    if (file.endsWith('.history') || file.includes('.backup') || file.endsWith('.tmp')) continue;
    const name = /^[0-9A-F]{24}/.exec(file)?.[0];
    // The log and segment numbers (after the timeline) order segments across timelines.
    if (!name || (start && name.slice(8) < start.slice(8))) continue;
    names.add(name);
  }
  const sorted = [...names].sort((a, b) => a.slice(8).localeCompare(b.slice(8)) || a.localeCompare(b));
  return { count: sorted.length, ...(sorted.length > 0 ? { last: sorted.at(-1)! } : {}) };
}
