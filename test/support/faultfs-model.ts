// A reference model of faultfs in lost-writes mode: files and directories in memory, each with what
// is durable and what is not, and the power loss (torn=none) the README describes. After a power
// loss exactly the un-synced data and the un-synced directory entries are gone: fsync/fdatasync of a
// file makes its data (and size) durable but not its entry; fsync of a directory makes its entries
// durable. faultfs-exec's operations are applied to it, and it says what each must return.
// close-commits (an NFS `sync` export for the paths its regex matches) is modelled too: closing a
// live descriptor opened for writing under a matching path makes its file's data and its parent
// directory's entries durable, and a matching create, mkdir, unlink, rmdir or rename makes its
// parents durable.

/** One operation of faultfs-exec (see docker/faultfs/faultfs-exec.c); paths are relative to the run directory. */
export type Op =
  | { op: 'open'; proc: number; slot: number; path: string; flags: OpenFlags }
  | { op: 'close' | 'fsync' | 'fdatasync' | 'fstat'; proc: number; slot: number }
  | { op: 'pwrite'; proc: number; slot: number; off: number; len: number; seed: number }
  | { op: 'pread'; proc: number; slot: number; off: number; len: number }
  | { op: 'ftruncate'; proc: number; slot: number; size: number }
  | { op: 'fallocate'; proc: number; slot: number; keepSize: boolean; off: number; len: number }
  | { op: 'stat' | 'unlink' | 'mkdir' | 'rmdir' | 'fsyncdir'; proc: number; path: string }
  | { op: 'rename'; proc: number; from: string; to: string };

/**
 * A control command sent with faultfs-ctl's protocol between operations. close-commits' regex is
 * matched, as faultfs matches it, against paths relative to the mount (see RUN_DIR_IN_MOUNT).
 */
export type Ctl = { ctl: 'power-loss' | 'reset' | 'close-commits off' | `close-commits ${string}` };

/**
 * The run directory relative to faultfs's mount: test/support/faultfs-check.ts runs every program
 * in MOUNT/run, so faultfs sees the program's path `d0/f1` as `run/d0/f1`.
 */
export const RUN_DIR_IN_MOUNT = 'run';

/** Operations of several processes run at the same time (a concurrent phase). */
export type Batch = { batch: Op[] };

export type Step = Op | Ctl | Batch;

export interface OpenFlags {
  access: 'rdonly' | 'wronly' | 'rdwr';
  creat?: boolean;
  trunc?: boolean;
  excl?: boolean;
  append?: boolean;
  direct?: boolean;
  dsync?: boolean;
}

/** What a step must print: one line exactly, one of several lines, or a size in a range. */
export type Expected = { line: string } | { anyOf: string[]; why: string } | { sizeFrom: number; sizeTo: number; orElse?: string };

/**
 * faultfs's one documented departure from a disk that the model allows: fstat of a descriptor whose
 * file has no name left (unlinked, or replaced by a rename, while open) fails with ESTALE, because
 * the kernel asks for its attributes by inode, not by handle, and libfuse's high-level API finds
 * no path for a removed node (cached attributes may still answer). Reads, writes, fsync and
 * truncate through the descriptor work.
 */
const NAMELESS_FSTAT = 'ESTALE';

interface FileNode {
  kind: 'file';
  id: number;
  data: Uint8Array;
  durable: Uint8Array;
}

interface DirNode {
  kind: 'dir';
  id: number;
  entries: Map<string, Node>;
  durable: Map<string, Node>;
}

type Node = FileNode | DirNode;

interface Descriptor {
  node: FileNode;
  flags: OpenFlags;
  /** The path it was opened under (close-commits matches it when it is closed). */
  path: string;
  /** The power loss count when it was opened: a descriptor from before a power loss is dead. */
  epoch: number;
}

/** The bytes of data stream `seed`, as faultfs-exec's fill() makes them (a 32-bit LCG's top byte). */
export function streamBytes(seed: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let s = seed >>> 0;
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** FNV-1a (32-bit) of each 4096 bytes, as faultfs-exec's pread prints them. */
export function blockHashes(bytes: Uint8Array): string {
  if (bytes.length === 0) return '-';
  const hashes: string[] = [];
  for (let at = 0; at < bytes.length; at += 4096) {
    let h = 2166136261;
    for (let i = at; i < Math.min(at + 4096, bytes.length); i++) h = Math.imul(h ^ bytes[i]!, 16777619) >>> 0;
    hashes.push(h.toString(16).padStart(8, '0'));
  }
  return hashes.join(',');
}

const readLine = (bytes: Uint8Array) => `ok ${bytes.length} ${blockHashes(bytes)}`;

function resized(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(data.subarray(0, Math.min(size, data.length)));
  return out;
}

export const canWrite = (flags: OpenFlags) => flags.access !== 'rdonly';
export const canRead = (flags: OpenFlags) => flags.access !== 'wronly';

/** The model: the run directory's tree, every process's descriptors, and the power losses so far. */
export class FaultfsModel {
  private nextId = 1;
  private readonly nodes: Node[] = [];
  readonly root: DirNode;
  private readonly descriptors = new Map<number, Map<number, Descriptor>>();
  private epoch = 0;
  /** close-commits' regex, or undefined while it is off. */
  private closeCommits: RegExp | undefined;

  constructor() {
    // The run directory itself is durable: the harness fsyncs its parent before a run.
    this.root = this.newDir();
  }

  private newDir(): DirNode {
    const dir: DirNode = { kind: 'dir', id: this.nextId++, entries: new Map(), durable: new Map() };
    this.nodes.push(dir);
    return dir;
  }

  private newFile(): FileNode {
    const file: FileNode = { kind: 'file', id: this.nextId++, data: new Uint8Array(0), durable: new Uint8Array(0) };
    this.nodes.push(file);
    return file;
  }

  /** The directory holding `path`'s last component, and that component; undefined when a parent is missing. */
  private parentOf(path: string): { dir: DirNode; name: string } | undefined {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    let dir = this.root;
    for (const part of parts.slice(0, -1)) {
      const next = dir.entries.get(part);
      if (!next || next.kind !== 'dir') return undefined;
      dir = next;
    }
    return { dir, name: parts.at(-1) ?? '.' };
  }

  lookup(path: string): Node | undefined {
    if (path === '.' || path === '') return this.root;
    const at = this.parentOf(path);
    return at?.dir.entries.get(at.name);
  }

  /** Whether close-commits applies to a path of the program. */
  private commits(path: string): boolean {
    if (!this.closeCommits) return false;
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    return this.closeCommits.test([RUN_DIR_IN_MOUNT, ...parts].join('/'));
  }

  /** What an fsync of the directory holding `path` does (nothing when that directory is gone). */
  private syncParent(path: string): void {
    const at = this.parentOf(path);
    if (at) at.dir.durable = new Map(at.dir.entries);
  }

  /** A directory operation on `path` (and `path2`) succeeded: durable at once when close-commits matches either. */
  private dirop(path: string, path2?: string): void {
    if (!this.commits(path) && !(path2 !== undefined && this.commits(path2))) return;
    this.syncParent(path);
    if (path2 !== undefined) this.syncParent(path2);
  }

  /** A control command; returns faultfs's reply. */
  control(ctl: Ctl['ctl']): string {
    if (ctl === 'power-loss') {
      this.powerLoss();
      return 'ok power-loss torn=none';
    }
    if (ctl === 'reset') {
      this.reset();
      return 'ok reset';
    }
    if (ctl === 'close-commits off') {
      this.closeCommits = undefined;
      return 'ok close-commits off';
    }
    this.closeCommits = new RegExp(ctl.slice('close-commits '.length));
    return 'ok close-commits';
  }

  /** The descriptors a process has open: slot, file and flags (dead ones included). */
  openSlots(proc: number): Array<{ slot: number; flags: OpenFlags; size: number; fileId: number; dead: boolean }> {
    return [...(this.descriptors.get(proc) ?? new Map<number, Descriptor>())].map(([slot, d]) => ({
      slot,
      flags: d.flags,
      size: d.node.data.length,
      fileId: d.node.id,
      dead: d.epoch < this.epoch,
    }));
  }

  private descriptor(proc: number, slot: number): Descriptor {
    const d = this.descriptors.get(proc)?.get(slot);
    if (!d) throw new Error(`Model: process ${proc} has no descriptor in slot ${slot}: the program is invalid`);
    return d;
  }

  /** The size of the file a descriptor is open on. */
  sizeOf(proc: number, slot: number): number {
    return this.descriptor(proc, slot).node.data.length;
  }

  fileIdOf(proc: number, slot: number): number {
    return this.descriptor(proc, slot).node.id;
  }

  /** Applies one operation in lockstep and says what faultfs-exec must print for it. */
  apply(op: Op): Expected {
    const line = this.run(op);
    if (op.op === 'fstat' && line.startsWith('ok ') && !this.named(this.descriptor(op.proc, op.slot).node)) {
      return { anyOf: [line, NAMELESS_FSTAT], why: 'fstat of a file without a name' };
    }
    return { line };
  }

  /** Whether a file has a name in the tree (it may have none while open: unlinked or replaced). */
  private named(file: FileNode): boolean {
    const walk = (dir: DirNode): boolean => [...dir.entries.values()].some((n) => n === file || (n.kind === 'dir' && walk(n)));
    return walk(this.root);
  }

  private run(op: Op): string {
    switch (op.op) {
      case 'open':
        return this.open(op.proc, op.slot, op.path, op.flags);
      case 'stat': {
        const node = this.lookup(op.path);
        if (!node) return 'ENOENT';
        return node.kind === 'dir' ? 'ok dir' : `ok ${node.data.length}`;
      }
      case 'rename':
        return this.rename(op.from, op.to);
      case 'unlink': {
        const at = this.parentOf(op.path);
        const node = at?.dir.entries.get(at.name);
        if (!at || !node) return 'ENOENT';
        if (node.kind === 'dir') return 'EISDIR';
        at.dir.entries.delete(at.name);
        this.dirop(op.path);
        return 'ok';
      }
      case 'mkdir': {
        const at = this.parentOf(op.path);
        if (!at) return 'ENOENT';
        if (at.dir.entries.has(at.name)) return 'EEXIST';
        at.dir.entries.set(at.name, this.newDir());
        this.dirop(op.path);
        return 'ok';
      }
      case 'rmdir': {
        const at = this.parentOf(op.path);
        const node = at?.dir.entries.get(at.name);
        if (!at || !node) return 'ENOENT';
        if (node.kind !== 'dir') return 'ENOTDIR';
        if (node.entries.size > 0) return 'ENOTEMPTY';
        at.dir.entries.delete(at.name);
        this.dirop(op.path);
        return 'ok';
      }
      case 'fsyncdir': {
        const node = this.lookup(op.path);
        if (!node) return 'ENOENT';
        if (node.kind !== 'dir') return 'ENOTDIR';
        node.durable = new Map(node.entries);
        return 'ok';
      }
      default:
        return this.onDescriptor(op);
    }
  }

  private open(proc: number, slot: number, path: string, flags: OpenFlags): string {
    const at = this.parentOf(path);
    if (!at) return 'ENOENT';
    let node = at.dir.entries.get(at.name);
    if (node && flags.creat && flags.excl) return 'EEXIST';
    if (!node) {
      if (!flags.creat) return 'ENOENT';
      node = this.newFile();
      at.dir.entries.set(at.name, node);
      this.dirop(path);
    }
    if (node.kind !== 'file') return 'EISDIR';
    if (flags.trunc && canWrite(flags)) node.data = new Uint8Array(0);
    const table = this.descriptors.get(proc) ?? new Map<number, Descriptor>();
    this.descriptors.set(proc, table);
    if (table.has(slot)) throw new Error(`Model: process ${proc} slot ${slot} is already open: the program is invalid`);
    table.set(slot, { node, flags, path, epoch: this.epoch });
    return 'ok';
  }

  private rename(from: string, to: string): string {
    const src = this.parentOf(from);
    const dst = this.parentOf(to);
    const node = src?.dir.entries.get(src.name);
    if (!src || !dst || !node) return 'ENOENT';
    if (src.dir !== dst.dir) throw new Error('Model: renames across directories are not modelled (faultfs needs both parents fsynced)');
    if (src.name === dst.name) return 'ok';
    const target = dst.dir.entries.get(dst.name);
    if (target && target.kind !== node.kind) return target.kind === 'dir' ? 'EISDIR' : 'ENOTDIR';
    if (target?.kind === 'dir' && target.entries.size > 0) return 'ENOTEMPTY';
    src.dir.entries.delete(src.name);
    dst.dir.entries.set(dst.name, node);
    this.dirop(from, to);
    return 'ok';
  }

  private onDescriptor(op: Exclude<Extract<Op, { slot: number }>, { op: 'open' }>): string {
    const d = this.descriptor(op.proc, op.slot);
    const file = d.node;
    if (d.epoch < this.epoch) {
      // A handle open across a power loss fails with EIO until reset (close reports it too).
      if (op.op === 'close') this.descriptors.get(op.proc)!.delete(op.slot);
      return 'EIO';
    }
    switch (op.op) {
      case 'close':
        this.descriptors.get(op.proc)!.delete(op.slot);
        // close-commits: close waits for the commit of the file's data and of its directory's entries
        if (canWrite(d.flags) && this.commits(d.path)) {
          file.durable = file.data.slice();
          this.syncParent(d.path);
        }
        return 'ok';
      case 'pwrite': {
        if (!canWrite(d.flags)) return 'EBADF';
        const at = d.flags.append ? file.data.length : op.off;
        if (at + op.len > file.data.length) file.data = resized(file.data, at + op.len);
        file.data.set(streamBytes(op.seed, op.len), at);
        // O_DSYNC: the write is durable when it returns; faultfs makes it so by an fdatasync of
        // the whole file (as the kernel's fsync of the written range reaches it).
        if (d.flags.dsync) file.durable = file.data.slice();
        return `ok ${op.len}`;
      }
      case 'pread':
        if (!canRead(d.flags)) return 'EBADF';
        return readLine(file.data.subarray(Math.min(op.off, file.data.length), Math.min(op.off + op.len, file.data.length)));
      case 'ftruncate':
        if (!canWrite(d.flags)) return 'EINVAL';
        file.data = resized(file.data, op.size);
        return 'ok';
      case 'fallocate':
        if (!canWrite(d.flags)) return 'EBADF';
        if (!op.keepSize && op.off + op.len > file.data.length) file.data = resized(file.data, op.off + op.len);
        return 'ok';
      case 'fsync':
      case 'fdatasync':
        file.durable = file.data.slice();
        return 'ok';
      case 'fstat':
        return `ok ${file.data.length}`;
    }
  }

  /**
   * What a read through a descriptor that was open across a power loss may return: EIO, or (when
   * the kernel serves it from its page cache) what the file holds now, never data the loss dropped.
   */
  deadRead(op: Extract<Op, { op: 'pread' }>): Expected {
    const file = this.descriptor(op.proc, op.slot).node;
    const now = readLine(file.data.subarray(Math.min(op.off, file.data.length), Math.min(op.off + op.len, file.data.length)));
    return { anyOf: ['EIO', now], why: 'a handle open across a power loss: EIO, or what the file holds after it' };
  }

  /**
   * Applies a concurrent phase. The program makes its results independent of the interleaving
   * (writers on disjoint ranges, readers away from others' writes, one process changing a file's
   * size and fsyncing it at most), so the processes can be applied one after another. A size seen
   * by a process while another one grows the file lies between the sizes before and after.
   */
  applyPhase(ops: Op[]): Expected[] {
    const fileOf = (op: Op): FileNode | undefined => {
      if ('slot' in op) return this.descriptors.get(op.proc)?.get(op.slot)?.node;
      const node = op.op === 'stat' ? this.lookup(op.path) : undefined;
      return node?.kind === 'file' ? node : undefined;
    };
    const before = new Map<FileNode, number>();
    for (const op of ops) {
      const file = fileOf(op);
      if (file && !before.has(file)) before.set(file, file.data.length);
    }
    const growers = new Map<FileNode, Set<number>>();
    const results: Expected[] = new Array(ops.length);
    const procs = [...new Set(ops.map((op) => op.proc))];
    for (const proc of procs) {
      ops.forEach((op, i) => {
        if (op.proc !== proc) return;
        const file = fileOf(op);
        const sizeBefore = file?.data.length ?? 0;
        results[i] = this.apply(op);
        if (file && file.data.length !== sizeBefore) growers.set(file, (growers.get(file) ?? new Set()).add(proc));
      });
    }
    ops.forEach((op, i) => {
      if (op.op !== 'stat' && op.op !== 'fstat') return;
      const file = fileOf(op);
      const others = file ? [...(growers.get(file) ?? [])].filter((p) => p !== op.proc) : [];
      if (!file || others.length === 0) return;
      results[i] = { sizeFrom: before.get(file)!, sizeTo: file.data.length, ...(this.named(file) ? {} : { orElse: NAMELESS_FSTAT }) };
    });
    return results;
  }

  /** A power loss: every file keeps only its durable data, every directory only its durable entries. */
  powerLoss(): void {
    for (const node of this.nodes) {
      if (node.kind === 'file') node.data = node.durable.slice();
      else node.entries = new Map(node.durable);
    }
    this.epoch++;
  }

  /** faultfs's reset: old handles stop failing (the program closes them all first); close-commits is off. */
  reset(): void {
    this.closeCommits = undefined;
    for (const [proc, table] of this.descriptors) {
      for (const [slot, d] of table) {
        if (d.epoch < this.epoch) throw new Error(`Model: reset with process ${proc}'s slot ${slot} still open from before the power loss`);
      }
    }
  }
}

/** Applies one step of a program to the model: what faultfs-exec must print for it (a line per operation). */
export function applyStep(model: FaultfsModel, step: Step): Expected[] {
  if ('ctl' in step) return [{ line: `ctl ${model.control(step.ctl)}` }];
  if ('batch' in step) return model.applyPhase(step.batch);
  if (step.op === 'pread' && model.openSlots(step.proc).find((s) => s.slot === step.slot)?.dead) return [model.deadRead(step)];
  return [model.apply(step)];
}

/** Runs a whole program through the model: what each printed line must be, in order. */
export function expectations(steps: Step[]): Expected[] {
  const model = new FaultfsModel();
  return steps.flatMap((step) => applyStep(model, step));
}

/** Whether a printed line is what the model expects. */
export function matches(expected: Expected, line: string): boolean {
  if ('line' in expected) return line === expected.line;
  if ('anyOf' in expected) return expected.anyOf.includes(line);
  const size = /^ok (\d+)$/.exec(line);
  return (size !== null && Number(size[1]) >= expected.sizeFrom && Number(size[1]) <= expected.sizeTo) || line === expected.orElse;
}

export function describeExpected(expected: Expected): string {
  if ('line' in expected) return expected.line;
  if ('anyOf' in expected) return `${expected.anyOf.join(' or ')} (${expected.why})`;
  const orElse = expected.orElse ? ` or ${expected.orElse}` : '';
  return `ok SIZE with ${expected.sizeFrom} <= SIZE <= ${expected.sizeTo}${orElse} (another process grows the file meanwhile)`;
}
