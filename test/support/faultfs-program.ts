// Random programs for faultfs's model-based test: fast-check generates intents (what to do, with
// raw numbers), and compile() turns them into valid operations against the model's current state
// (an intent whose target is missing becomes another operation), so any shrunk list of intents is
// still a valid program. Concurrent phases are compiled so that their results do not depend on the
// interleaving: writers on disjoint ranges, readers away from other processes' writes, at most one
// process growing a file, and a file fsynced in a phase only by its one writer (or by anyone when
// nobody writes it); a racing phase fsyncs an un-synced extension while the others stat the file.
// Every power loss is followed by operations on the old handles, closing them, a reset and a sweep
// that stats the names and reads every file back through new descriptors.

import fc from 'fast-check';
import { FaultfsModel, canRead, canWrite, type OpenFlags, type Op, type Step } from './faultfs-model.ts';

const LOCKSTEP_KINDS = {
  open: 8,
  close: 4,
  write: 16,
  read: 12,
  truncate: 3,
  fallocate: 3,
  fsync: 6,
  fdatasync: 2,
  fstat: 2,
  stat: 3,
  rename: 3,
  unlink: 2,
  mkdir: 2,
  rmdir: 1,
  fsyncdir: 5,
  'recreate-dir': 1,
} as const;
const PHASE_KINDS = { write: 8, read: 8, fsync: 3, fdatasync: 1, fstat: 3, stat: 2, 'fallocate-keep': 1 } as const;

type LockstepKind = keyof typeof LOCKSTEP_KINDS;
type PhaseKind = keyof typeof PHASE_KINDS;

/** Raw choices: compile() reads them modulo what the model offers at that point. */
interface Choice {
  proc: number;
  a: number;
  b: number;
  c: number;
}
export type Intent =
  | ({ kind: LockstepKind } & Choice)
  | { kind: 'phase'; hot: number; race: boolean; subs: Array<{ kind: PhaseKind } & Choice> }
  | { kind: 'power-loss'; a: number };

/** Worker processes 0..3; the sweep after a power loss reads through process 4. */
const WORKERS = 4;
const SWEEP = 4;
const MAX_SLOTS = 4;
const DIRS = ['.', 'd0', 'd1'];
const NAMES = ['f0', 'f1', 'f2'];
const FILES = DIRS.flatMap((dir) => NAMES.map((name) => (dir === '.' ? name : `${dir}/${name}`)));
/** Files stay under this size (offsets wrap), so reads and writes stay short. */
const SPAN = 96 * 1024;
const PAGE = 4096;

const small = fc.nat({ max: 0xffff });
const choice = { proc: fc.nat({ max: WORKERS - 1 }), a: small, b: small, c: small };
const weighted = <K extends string>(weights: Record<K, number>) =>
  fc.oneof(...(Object.entries(weights) as Array<[K, number]>).map(([kind, weight]) => ({ arbitrary: fc.constant(kind), weight })));

/** A program: mostly lockstep operations, some concurrent phases and power losses. */
export function intentsArbitrary(options: { maxLength?: number } = {}): fc.Arbitrary<Intent[]> {
  const lockstep = fc.record({ kind: weighted(LOCKSTEP_KINDS), ...choice });
  const phase = fc.record({
    kind: fc.constant('phase' as const),
    hot: small,
    race: fc.boolean(),
    subs: fc.array(fc.record({ kind: weighted(PHASE_KINDS), ...choice }), { minLength: 2, maxLength: 24, size: 'medium' }),
  });
  const powerLoss = fc.record({ kind: fc.constant('power-loss' as const), a: small });
  return fc.array(
    fc.oneof({ arbitrary: lockstep, weight: 30 }, { arbitrary: phase, weight: 3 }, { arbitrary: powerLoss, weight: 1 }) as fc.Arbitrary<Intent>,
    { minLength: 4, maxLength: options.maxLength ?? 90, size: 'medium' },
  );
}

const pick = <T>(items: readonly T[], n: number): T => items[n % items.length]!;
const pickFile = (n: number) => pick(FILES, n % 7 < 4 ? n % 3 : n);

/** Aligns an offset and a length for O_DIRECT. */
const aligned = (off: number, len: number) => ({ off: Math.floor(off / PAGE) * PAGE, len: Math.max(PAGE, Math.floor(len / PAGE) * PAGE) });

function flagsOf(b: number, c: number): OpenFlags {
  const access = pick(['rdwr', 'rdwr', 'rdwr', 'rdwr', 'rdwr', 'rdonly', 'wronly', 'rdwr'] as const, b);
  const creat = (b >> 3) % 4 !== 0;
  const direct = c % 5 === 0;
  const flags: OpenFlags = { access };
  if (creat) flags.creat = true;
  if (creat && (b >> 5) % 8 === 0) flags.excl = true;
  if (access !== 'rdonly' && (b >> 8) % 6 === 0) flags.trunc = true;
  if (access !== 'rdonly' && !direct && (b >> 11) % 8 === 0) flags.append = true;
  if (direct) flags.direct = true;
  if ((c >> 3) % 5 === 0) flags.dsync = true;
  return flags;
}

/** Where a write goes and how long it is. */
function writeRange(size: number, b: number, c: number, direct: boolean): { off: number; len: number } {
  const r = b * 7919 + c;
  let off = [
    () => (size > 0 ? r % size : 0), // a rewrite inside the file
    () => size, // just past its end
    () => size + (r % 9000), // past its end, leaving a hole
    () => Math.floor((r % Math.max(size, 1)) / PAGE) * PAGE + (c % 3) * 512, // a partial page
    () => 0,
    () => r % (48 * 1024),
  ][b % 6]!();
  let len = [1 + (c % 512), 1 + (c % PAGE), PAGE, 1 + (c % (3 * PAGE))][(c >> 4) % 4]!;
  if (off + len > SPAN) off %= SPAN - len;
  if (direct) ({ off, len } = aligned(off, 1 + (c % (3 * PAGE))));
  return { off, len };
}

function readRange(size: number, b: number, c: number, direct: boolean): { off: number; len: number } {
  const r = b * 104729 + c;
  let off = [0, r % (size + 1), Math.max(0, size - (c % 5000)), size + (c % 3000), Math.floor((r % (size + 1)) / PAGE) * PAGE][b % 5]!;
  let len = [size + 1, 1 + (c % 700), 1 + (c % (4 * PAGE)), PAGE][(c >> 5) % 4]!;
  if (off + len > SPAN + 2 * PAGE) len = 1 + (c % 700);
  if (direct) ({ off, len } = aligned(off, len));
  return { off, len };
}

type Range = [number, number];
const overlaps = (x: Range, ranges: Range[]) => ranges.some(([s, e]) => x[0] < e && s < x[1]);

/** What the processes of one concurrent phase did to one file so far (its compile-time book). */
interface PhaseFile {
  start: number;
  writes: Map<number, Range[]>;
  reads: Map<number, Range[]>;
  grower?: number;
  readsBeyond: Set<number>;
  syncers: Set<number>;
}

/** Compiles intents into a program of operations, control commands and concurrent phases. */
export function compile(intents: Intent[]): Step[] {
  const model = new FaultfsModel();
  const steps: Step[] = [];
  const emit = (step: Step) => {
    steps.push(step);
    if ('ctl' in step) {
      if (step.ctl === 'power-loss') model.powerLoss();
      else model.reset();
    } else if ('batch' in step) {
      model.applyPhase(step.batch);
    } else if (!(step.op === 'pread' && model.openSlots(step.proc).find((s) => s.slot === step.slot)?.dead)) {
      model.apply(step);
    }
  };
  const live = (proc: number) => model.openSlots(proc).filter((s) => !s.dead);
  const freeSlot = (proc: number) => {
    const used = new Set(model.openSlots(proc).map((s) => s.slot));
    for (let slot = 0; ; slot++) if (!used.has(slot)) return slot;
  };
  const open = (proc: number, path: string, flags: OpenFlags) => {
    if (live(proc).length >= MAX_SLOTS) emit({ op: 'close', proc, slot: live(proc)[0]!.slot });
    emit({ op: 'open', proc, slot: freeSlot(proc), path, flags });
  };

  for (const intent of intents) {
    if (intent.kind === 'power-loss') {
      powerLoss(intent.a);
      continue;
    }
    if (intent.kind === 'phase') {
      phase(intent);
      continue;
    }
    lockstep(intent);
  }
  powerLoss(0);
  return steps;

  function lockstep(intent: Extract<Intent, { proc: number }>): void {
    const { proc, a, b, c } = intent;
    const slots = live(proc);
    const writable = slots.filter((s) => canWrite(s.flags));
    const readable = slots.filter((s) => canRead(s.flags));
    const needs = (list: typeof slots) => list.length === 0 && (open(proc, pickFile(a), { access: 'rdwr', creat: true, ...(c % 4 === 0 ? { direct: true } : {}) }), true);
    switch (intent.kind) {
      case 'open':
        return open(proc, pickFile(a), flagsOf(b, c));
      case 'close':
        if (needs(slots)) return;
        return emit({ op: 'close', proc, slot: pick(slots, a).slot });
      case 'write': {
        if (needs(writable)) return;
        const s = pick(writable, a);
        const { off, len } = writeRange(s.size, b, c, !!s.flags.direct);
        return emit({ op: 'pwrite', proc, slot: s.slot, off, len, seed: (((a << 16) ^ (b << 8) ^ c) >>> 0) + 1 });
      }
      case 'read': {
        if (needs(readable)) return;
        const s = pick(readable, a);
        const { off, len } = readRange(s.size, b, c, !!s.flags.direct);
        return emit({ op: 'pread', proc, slot: s.slot, off, len });
      }
      case 'truncate': {
        if (needs(writable)) return;
        const s = pick(writable, a);
        const size = [0, Math.floor(s.size / 2), s.size + (c % 9000), (c % 16) * PAGE, Math.max(0, s.size - (c % 700))][b % 5]!;
        return emit({ op: 'ftruncate', proc, slot: s.slot, size: Math.min(size, SPAN) });
      }
      case 'fallocate': {
        if (needs(writable)) return;
        const s = pick(writable, a);
        const off = [s.size, c % Math.max(s.size, 1), (c % 16) * PAGE][b % 3]!;
        const len = (b >> 2) % 2 === 0 ? PAGE * (1 + (c % 4)) : 1 + (c % 10000);
        return emit({ op: 'fallocate', proc, slot: s.slot, keepSize: b % 4 === 3, off: Math.min(off, SPAN - len), len });
      }
      case 'fsync':
      case 'fdatasync':
      case 'fstat':
        if (needs(slots)) return;
        return emit({ op: intent.kind, proc, slot: pick(slots, a).slot });
      case 'stat':
        return emit({ op: 'stat', proc, path: pick([...FILES, 'd0', 'd1'], a) });
      case 'rename': {
        const dir = pick(DIRS, a % 5 < 3 ? 0 : a);
        const at = (name: string) => (dir === '.' ? name : `${dir}/${name}`);
        return emit({ op: 'rename', proc, from: at(pick(NAMES, b)), to: at(pick(NAMES, c)) });
      }
      case 'unlink':
        return emit({ op: 'unlink', proc, path: pickFile(a) });
      case 'mkdir':
      case 'rmdir':
        return emit({ op: intent.kind, proc, path: pick(['d0', 'd1'], a) });
      case 'fsyncdir':
        return emit({ op: 'fsyncdir', proc, path: pick(['.', '.', 'd0', 'd1'], a) });
      case 'recreate-dir': {
        // empty a directory, remove it and make it again (a new directory, which may get the
        // old one's inode number), and sometimes fsync the new one
        const dir = pick(['d0', 'd1'], a);
        for (const name of NAMES) if (model.lookup(`${dir}/${name}`)) emit({ op: 'unlink', proc, path: `${dir}/${name}` });
        emit({ op: 'rmdir', proc, path: dir });
        emit({ op: 'mkdir', proc, path: dir });
        if (b % 2 === 0) emit({ op: 'fsyncdir', proc, path: dir });
        return;
      }
    }
  }

  /** A power loss, ops on old handles (EIO), closing them, reset, and a sweep of what survived. */
  function powerLoss(a: number): void {
    emit({ ctl: 'power-loss' });
    for (let proc = 0; proc < WORKERS; proc++) {
      for (const [i, s] of model.openSlots(proc).entries()) {
        if ((a >> (proc + i)) % 3 === 0) {
          const kind = pick(['pwrite', 'pread', 'fsync'] as const, a + proc + i);
          if (kind === 'pwrite' && canWrite(s.flags)) emit({ op: 'pwrite', proc, slot: s.slot, off: 0, len: PAGE, seed: 99 });
          else if (kind === 'pread' && canRead(s.flags)) emit({ op: 'pread', proc, slot: s.slot, off: 0, len: PAGE });
          else emit({ op: 'fsync', proc, slot: s.slot });
        }
        emit({ op: 'close', proc, slot: s.slot });
      }
    }
    emit({ ctl: 'reset' });
    const swept = [...FILES, 'd0', 'd1'].filter((path) => !path.includes('/') || model.lookup(path.split('/')[0]!) !== undefined);
    for (const path of swept) {
      emit({ op: 'stat', proc: SWEEP, path });
      const node = model.lookup(path);
      if (node?.kind !== 'file') continue;
      emit({ op: 'open', proc: SWEEP, slot: 0, path, flags: { access: 'rdonly' } });
      emit({ op: 'pread', proc: SWEEP, slot: 0, off: 0, len: node.data.length + 1 });
      emit({ op: 'close', proc: SWEEP, slot: 0 });
    }
  }

  /** A concurrent phase on a hot file (others too), with lockstep opens before it where needed. */
  function phase(intent: Extract<Intent, { kind: 'phase' }>): void {
    const procs = [...new Set(intent.subs.map((s) => s.proc))];
    const existing = FILES.filter((path) => model.lookup(path)?.kind === 'file');
    const hotPath = existing.length > 0 ? pick(existing, intent.hot) : pickFile(intent.hot);
    for (const proc of procs) {
      const hot = model.lookup(hotPath);
      if (hot?.kind === 'file' && live(proc).some((s) => s.fileId === hot.id && canWrite(s.flags))) continue;
      open(proc, hotPath, { access: 'rdwr', creat: true, ...((intent.hot >> proc) % 3 === 0 ? { direct: true } : {}) });
    }
    const hotNode = model.lookup(hotPath);
    const hotId = hotNode?.kind === 'file' ? hotNode.id : -1;
    // Before the phase the hot file holds data, fsynced or not, and often an un-synced extension
    // (several writes): an fsync in the phase then applies a log that moves the lower file's size.
    // A racing phase starts with exactly that fsync while the other processes stat the file.
    const first = procs[0]!;
    const writer = live(first).find((s) => s.fileId === hotId && canWrite(s.flags) && !s.flags.direct && !s.flags.append);
    if (writer && writer.size < 2 * PAGE) emit({ op: 'pwrite', proc: first, slot: writer.slot, off: writer.size, len: 2 * PAGE + (intent.hot % 5000), seed: intent.hot + 3 });
    if (writer && (intent.hot >> 4) % 2 === 0) emit({ op: 'fsync', proc: first, slot: writer.slot });
    const extensions = writer && (intent.race || (intent.hot >> 5) % 2 === 0) ? 1 + ((intent.hot >> 6) % 6) : 0;
    for (let i = 0; i < extensions; i++) {
      emit({ op: 'pwrite', proc: first, slot: writer!.slot, off: model.sizeOf(first, writer!.slot), len: 512 + ((intent.hot * (i + 1)) % 3584), seed: intent.hot + 5 + i });
    }
    const files = new Map<number, PhaseFile>();
    const book = (proc: number, slot: number): PhaseFile => {
      const id = model.fileIdOf(proc, slot);
      let f = files.get(id);
      if (!f) files.set(id, (f = { start: model.sizeOf(proc, slot), writes: new Map(), reads: new Map(), readsBeyond: new Set(), syncers: new Set() }));
      return f;
    };
    const others = (m: Map<number, Range[]>, proc: number) => [...m].filter(([p]) => p !== proc).flatMap(([, r]) => r);
    const writers = (f: PhaseFile) => new Set(f.writes.keys());
    const batch: Op[] = [];
    if (intent.race && writer) {
      book(first, writer.slot).syncers.add(first);
      batch.push({ op: 'fsync', proc: first, slot: writer.slot });
      for (const proc of procs.slice(1)) {
        const onHot = live(proc).find((s) => s.fileId === hotId);
        if (onHot) batch.push({ op: 'fstat', proc, slot: onHot.slot });
        batch.push({ op: 'stat', proc, path: hotPath });
      }
    }
    for (const sub of intent.subs) {
      const { proc, a, b, c } = sub;
      const slots = live(proc);
      if (slots.length === 0) continue;
      const onHot = slots.filter((s) => s.fileId === hotId);
      const s = a % 4 !== 0 && onHot.length > 0 ? pick(onHot, a >> 2) : pick(slots, a);
      const f = book(proc, s.slot);
      const direct = !!s.flags.direct;
      switch (sub.kind) {
        case 'write': {
          if (!canWrite(s.flags)) continue;
          const { off, len } = writeRange(f.start, b, c, direct);
          const range: Range = s.flags.append ? [f.start, Infinity] : [off, off + len];
          const grows = range[1] > f.start;
          const syncs = !!s.flags.dsync;
          if (overlaps(range, [...others(f.writes, proc), ...others(f.reads, proc)])) continue;
          if (grows && ((f.grower !== undefined && f.grower !== proc) || [...f.readsBeyond].some((p) => p !== proc))) continue;
          if ([...f.syncers].some((p) => p !== proc) || (syncs && [...writers(f)].some((p) => p !== proc))) continue;
          f.writes.set(proc, [...(f.writes.get(proc) ?? []), range]);
          if (grows) f.grower = proc;
          if (syncs) f.syncers.add(proc);
          batch.push({ op: 'pwrite', proc, slot: s.slot, off, len, seed: (((a << 16) ^ (b << 8) ^ c) >>> 0) + 7 });
          break;
        }
        case 'read': {
          if (!canRead(s.flags)) continue;
          const { off, len } = readRange(f.start, b, c, direct);
          const range: Range = [off, off + len];
          const beyond = range[1] > f.start;
          if (overlaps(range, others(f.writes, proc))) continue;
          if (beyond && f.grower !== undefined && f.grower !== proc) continue;
          f.reads.set(proc, [...(f.reads.get(proc) ?? []), range]);
          if (beyond) f.readsBeyond.add(proc);
          batch.push({ op: 'pread', proc, slot: s.slot, off, len });
          break;
        }
        case 'fsync':
        case 'fdatasync':
          if ([...writers(f)].some((p) => p !== proc)) continue;
          f.syncers.add(proc);
          batch.push({ op: sub.kind, proc, slot: s.slot });
          break;
        case 'fstat':
          batch.push({ op: 'fstat', proc, slot: s.slot });
          break;
        case 'stat':
          batch.push({ op: 'stat', proc, path: hotPath });
          break;
        case 'fallocate-keep':
          if (!canWrite(s.flags)) continue;
          batch.push({ op: 'fallocate', proc, slot: s.slot, keepSize: true, off: (c % 16) * PAGE, len: PAGE * (1 + (b % 4)) });
          break;
      }
    }
    if (batch.length > 0) emit({ batch });
  }
}

/** How to replay a failure fast-check reported: its seed and shrink path as environment variables. */
export function replayHint(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const found = /seed: (-?\d+), path: "([^"]*)"/.exec(text);
  return found ? `Replay: FAULTFS_MODEL_SEED=${found[1]} FAULTFS_MODEL_PATH=${found[2]}` : 'fast-check reported no seed';
}
