// Proof that the user's backup repository was only read: a listing (path, type, size, mtime, mode) taken
// before and after, compared entry by entry. Reading never changes any of these; writing, pruning or touching does.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, describeError } from '../errors.ts';

import type { ListedEntry, TreeListing } from '../history/prove-evidence.ts';

export type { ListedEntry, TreeListing } from '../history/prove-evidence.ts';

/** One way an entry differs between two listings; before/after are absent for added/removed. */
export interface ListingChange {
  path: string;
  what: 'added' | 'removed' | 'size' | 'mtime' | 'type' | 'mode';
  before?: string;
  after?: string;
}

// A week of WAL is thousands of files: enough stat calls in flight to hide disk and network latency,
// few enough not to exhaust file descriptors.
const CONCURRENCY = 64;

/** Runs at most `limit` of the given functions at a time; a slot is held only for the call itself. */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((wake) => waiting.push(wake));
    else running++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, so running never drops and rises again in between.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

function typeOf(st: BigIntStats): ListedEntry['type'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function entryOf(path: string, st: BigIntStats): ListedEntry {
  return { path, type: typeOf(st), size: Number(st.size), mtimeNs: st.mtimeNs.toString(), mode: Number(st.mode) };
}

const codeOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

function readAccessError(path: string, error: unknown): ConfigError {
  return new ConfigError(
    `Cannot read '${path}' in the backup repository (${describeError(error)}): faultline needs read access to every file and directory of it; run it as the backup user or grant read permission`,
    { cause: error },
  );
}

/**
 * Lists every entry under root with lstat (links are listed, never followed), without reading any
 * file's content. The root itself may be a link (to the repository, as /backups often is) and may be
 * a single file (a base backup tar), listed as path ''. Throws a ConfigError for a root that does not
 * exist or a directory that cannot be read. An entry that vanishes while it is listed is left out: it
 * is gone, and the next listing shows it as removed.
 */
export async function listTree(root: string): Promise<TreeListing> {
  const takenAt = new Date().toISOString();
  const absolute = resolve(root);
  let rootStat: BigIntStats;
  try {
    rootStat = await stat(absolute, { bigint: true });
  } catch (error) {
    if (codeOf(error) === 'ENOENT') {
      throw new ConfigError(`The backup repository '${absolute}' does not exist: give the path of the directory (or file) that holds the backups`, { cause: error });
    }
    throw readAccessError(absolute, error);
  }
  const entries: ListedEntry[] = [];
  if (!rootStat.isDirectory()) {
    entries.push(entryOf('', rootStat));
  } else {
    const limit = limiter(CONCURRENCY);
    const walk = async (dir: string, relative: string): Promise<void> => {
      let names: string[];
      try {
        names = await limit(() => readdir(dir));
      } catch (error) {
        if (codeOf(error) === 'ENOENT' && relative !== '') return;
        throw readAccessError(dir, error);
      }
      await Promise.all(
        names.map(async (name) => {
          const path = relative ? `${relative}/${name}` : name;
          const full = join(dir, name);
          let st: BigIntStats;
          try {
            st = await limit(() => lstat(full, { bigint: true }));
          } catch (error) {
            if (codeOf(error) === 'ENOENT') return;
            throw readAccessError(full, error);
          }
          entries.push(entryOf(path, st));
          if (st.isDirectory()) await walk(full, path);
        }),
      );
    };
    await walk(absolute, '');
  }
  entries.sort(byPath);
  let bytes = 0;
  let files = 0;
  for (const entry of entries) {
    if (entry.type !== 'file') continue;
    files++;
    bytes += entry.size;
  }
  return { root: absolute, entries, bytes, files, takenAt };
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;

/**
 * What differs between two listings of the same repository, sorted by path; empty when nothing
 * does. A changed type is reported alone. A directory's size and mtime move whenever an entry in it
 * is added or removed, so they are reported only when nothing under the directory shows a change
 * (a file created and removed again between the listings still leaves its trace there).
 */
export function compareListings(before: TreeListing, after: TreeListing): ListingChange[] {
  const old = new Map(before.entries.map((entry) => [entry.path, entry]));
  const now = new Map(after.entries.map((entry) => [entry.path, entry]));
  const paths = [...new Set([...old.keys(), ...now.keys()])].sort();
  const changes: ListingChange[] = [];
  const movedDirs: ListingChange[] = [];
  for (const path of paths) {
    const a = old.get(path);
    const b = now.get(path);
    if (!a) {
      changes.push({ path, what: 'added' });
      continue;
    }
    if (!b) {
      changes.push({ path, what: 'removed' });
      continue;
    }
    if (a.type !== b.type) {
      changes.push({ path, what: 'type', before: a.type, after: b.type });
      continue;
    }
    if (a.type === 'dir') {
      if (a.mtimeNs !== b.mtimeNs) movedDirs.push({ path, what: 'mtime', before: a.mtimeNs, after: b.mtimeNs });
    } else {
      if (a.size !== b.size) changes.push({ path, what: 'size', before: String(a.size), after: String(b.size) });
      if (a.mtimeNs !== b.mtimeNs) changes.push({ path, what: 'mtime', before: a.mtimeNs, after: b.mtimeNs });
    }
    if (a.mode !== b.mode) changes.push({ path, what: 'mode', before: octal(a.mode), after: octal(b.mode) });
  }
  // Every directory above a change explains its own moved mtime; the others are changes of their own.
  const explained = new Set<string>();
  for (const change of changes) {
    for (let cut = change.path.lastIndexOf('/'); cut > 0; cut = change.path.lastIndexOf('/', cut - 1)) explained.add(change.path.slice(0, cut));
  }
  // The sort is stable, so a path's own changes keep their order.
  return [...changes, ...movedDirs.filter((change) => !explained.has(change.path))].sort(byPath);
}

/** Nanoseconds since the epoch as an ISO time with all nine fractional digits. */
function isoNs(text: string | undefined): string {
  if (text === undefined || !/^-?\d+$/.test(text)) return String(text);
  const ns = BigInt(text);
  const second = 1_000_000_000n;
  const fraction = ((ns % second) + second) % second;
  const seconds = (ns - fraction) / second;
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, `.${fraction.toString().padStart(9, '0')}Z`);
}

function describeChange(change: ListingChange): string {
  const path = change.path === '' ? 'the repository file' : change.path;
  switch (change.what) {
    case 'added':
      return `${path} added`;
    case 'removed':
      return `${path} removed`;
    case 'size':
      return `${path} size ${change.before} -> ${change.after}`;
    case 'mtime':
      return `${path} mtime ${isoNs(change.before)} -> ${isoNs(change.after)}`;
    case 'type':
      return `${path} type ${change.before} -> ${change.after}`;
    case 'mode':
      return `${path} mode ${change.before} -> ${change.after}`;
  }
}

/**
 * The changes as one sentence, at most `cap` of them spelled out:
 * "3 changes: wal/0001 removed; base/x size 10 -> 12; base/y added", or 'unchanged' for none.
 */
export function describeChanges(changes: ListingChange[], cap = 5): string {
  if (changes.length === 0) return 'unchanged';
  const shown = changes.slice(0, Math.max(1, cap)).map(describeChange).join('; ');
  const more = changes.length - Math.max(1, cap);
  return `${changes.length} ${changes.length === 1 ? 'change' : 'changes'}: ${shown}${more > 0 ? ` (and ${more} more)` : ''}`;
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * SHA-256 (hex) over every entry's path, type, mode and content (a link's target), in path order:
 * equal only when the tree is byte-for-byte the same. Reads every file, so it is for tests, not for
 * a week of WAL.
 */
export async function treeChecksum(root: string): Promise<string> {
  const listing = await listTree(root);
  const hash = createHash('sha256');
  for (const entry of listing.entries) {
    const full = entry.path === '' ? listing.root : join(listing.root, entry.path);
    let content = '';
    if (entry.type === 'file') content = await fileDigest(full);
    else if (entry.type === 'symlink') content = createHash('sha256').update(await readlink(full)).digest('hex');
    // Paths cannot hold NUL and the digest has a fixed length, so records cannot run into each other.
    hash.update(`${entry.path}\0${entry.type}\0${octal(entry.mode)}\0${content}\n`);
  }
  return hash.digest('hex');
}
