// The copies an archive_command's steps make: which tool writes WAL where (a local file, or a file
// on another host), and whether the tool itself refuses an existing file or makes the copy
// durable. Pure: no I/O.

import { posix } from 'node:path';
import { program } from '../../engines/postgres/index.ts';
import type { Host, Step } from './archive-steps.ts';

export type CopyTool = 'cp' | 'mv' | 'install' | 'rsync' | 'scp' | 'dd' | 'redirect';

export interface Copy {
  /** Index of its step. */
  step: number;
  tool: CopyTool;
  /** The destination as written ('/mnt/wal/%f', 'backup@host:/srv/wal/'). */
  dest: string;
  /** The file it writes: the destination, or the destination directory plus %f. */
  file: string;
  /** On another host: which, and the file there. */
  remote?: Host;
  /** The tool itself refuses an existing file (cp -n, rsync --ignore-existing, dd conv=excl, noclobber). */
  refusesExisting: boolean;
  /** The tool itself makes the copy durable (rsync --fsync, dd conv=fsync or oflag=sync). */
  syncs: boolean;
}

const REMOTE = /^(?:([^@/:\s]+)@)?([A-Za-z0-9][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\]):(?!:)(.*)$/;
const RSYNC_URL = /^rsync:\/\/(?:([^@/]+)@)?([^/:]+)(?::\d+)?(\/.*)?$/;
const RSYNC_DAEMON = /^(?:([^@/:\s]+)@)?([A-Za-z0-9][A-Za-z0-9._-]*)::(.*)$/;

/** Where an operand writes: a local path, or a host and a path there. */
export function locate(operand: string, step: Step): { path: string; remote?: Host } {
  for (const pattern of [RSYNC_URL, RSYNC_DAEMON, REMOTE]) {
    const match = pattern.exec(operand);
    if (match) return { path: match[3] ?? '', remote: { ...(match[1] ? { user: match[1] } : {}), host: match[2]! } };
  }
  return { path: operand, ...(step.remote ? { remote: step.remote } : {}) };
}

const CP_LONG_VALUES = /^--(target-directory|suffix|mode|owner|group|strip-program)$/;
const RSYNC_LONG_VALUES =
  /^--(rsh|rsync-path|temp-dir|partial-dir|backup-dir|suffix|port|timeout|contimeout|bwlimit|log-file|log-file-format|password-file|chmod|chown|usermap|groupmap|exclude|include|filter|exclude-from|include-from|files-from|compare-dest|copy-dest|link-dest|max-size|min-size|max-delete|block-size|compress-level|compress-choice|zc|checksum-choice|cc|skip-compress|out-format|info|debug|remote-option|sockopts|outbuf|iconv|stop-after|stop-at|modify-window|address|protocol|max-alloc|early-input|write-batch|only-write-batch|read-batch)$/;

interface Operands {
  operands: string[];
  target?: string;
  flags: Set<string>;
  long: Map<string, string>;
  directoryMode: boolean;
}

/** Splits a copying program's arguments into operands and options. */
function parseArgs(name: string, words: string[]): Operands {
  const result: Operands = { operands: [], flags: new Set(), long: new Map(), directoryMode: false };
  const shortValues = name === 'rsync' ? 'eTBfM' : name === 'scp' ? 'cFiJloPSDX' : name === 'install' ? 'tSmog' : 'tS';
  const longValues = name === 'rsync' ? RSYNC_LONG_VALUES : CP_LONG_VALUES;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      result.operands.push(...words.slice(i + 1));
      break;
    }
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const key = eq >= 0 ? w.slice(0, eq) : w;
      let value = eq >= 0 ? w.slice(eq + 1) : '';
      if (eq < 0 && longValues.test(key)) value = words[++i] ?? '';
      result.long.set(key, value);
      if (key === '--target-directory') result.target = value;
      if (key === '--directory' && name === 'install') result.directoryMode = true;
    } else if (w.startsWith('-') && w.length > 1) {
      for (let j = 1; j < w.length; j++) {
        const f = w[j]!;
        if (shortValues.includes(f)) {
          const value = j + 1 < w.length ? w.slice(j + 1) : words[++i] ?? '';
          if (f === 't' && name !== 'rsync' && name !== 'scp') result.target = value;
          break;
        }
        result.flags.add(f);
      }
      if (name === 'install' && result.flags.has('d')) result.directoryMode = true;
    } else {
      result.operands.push(w);
    }
  }
  return result;
}

/** Programs whose output names the segment at most: what they write is no copy of it. */
const PRINTERS = new Set(['echo', 'printf', 'logger', 'date', 'basename', 'dirname', 'stat', 'ls', 'wc', 'sha256sum', 'sha1sum', 'md5sum']);

function copyOf(step: Step, index: number, noclobber: boolean, steps: Step[]): Copy[] {
  const name = program(step);
  const copies: Copy[] = [];
  const add = (tool: CopyTool, dest: string, isDir: boolean, refusesExisting: boolean, syncs: boolean) => {
    if (!dest || dest.startsWith('/dev/')) return;
    const at = locate(dest, step);
    const dir = isDir || at.path === '' || at.path.endsWith('/') || (at.path !== '' && !/%f|\$|`/.test(at.path) && tool !== 'redirect' && tool !== 'dd');
    const file = dir ? posix.join(at.path || '.', '%f') : at.path;
    copies.push({ step: index, tool, dest, file, ...(at.remote ? { remote: at.remote } : {}), refusesExisting, syncs });
  };
  if (name === 'cp' || name === 'mv' || name === 'install') {
    const args = parseArgs(name, step.words);
    if (!args.directoryMode) {
      const refuses = name !== 'install' && (args.flags.has('n') || args.long.has('--no-clobber') || /^none(-fail)?$/.test(args.long.get('--update') ?? ''));
      if (args.target !== undefined && args.operands.length >= 1) add(name, args.target, true, refuses, false);
      else if (args.operands.length >= 2) add(name, args.operands.at(-1)!, args.operands.length > 2 || args.flags.has('t'), refuses, false);
    }
  } else if (name === 'rsync' || name === 'scp') {
    const args = parseArgs(name, step.words);
    if (args.operands.length >= 2) {
      add(name, args.operands.at(-1)!, false, name === 'rsync' && args.long.has('--ignore-existing'), name === 'rsync' && args.long.has('--fsync'));
    }
  } else if (name === 'dd') {
    const value = (key: string) => step.words.find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1).split(',') ?? [];
    const of = step.words.find((w) => w.startsWith('of='))?.slice(3);
    const conv = value('conv');
    const oflag = value('oflag');
    if (of) add('dd', of, false, conv.includes('excl'), conv.includes('fsync') || conv.includes('fdatasync') || oflag.includes('sync') || oflag.includes('dsync'));
  }
  // Output redirected into a file: a copy when it writes WAL (the target names %f, or the pipeline reads %p).
  let pipeline = index;
  while (pipeline > 0 && steps[pipeline]!.after === '|') pipeline--;
  const readsSegment = steps.slice(pipeline, index + 1).some((s) => (!PRINTERS.has(program(s)) && s.words.some((w) => w.includes('%p'))) || s.redirects.some((r) => r.op.startsWith('<') && r.target.includes('%p')));
  for (const r of step.redirects) {
    if (PRINTERS.has(name)) break; // a log line or a marker, not the segment
    if (!r.op.startsWith('>') || r.fd !== '1') continue;
    if (!r.target.includes('%f') && !readsSegment) continue;
    add('redirect', r.target, false, r.op === '>' && noclobber, false);
  }
  return copies;
}

/** Every copy the steps make, in order. */
export function copiesOf(steps: Step[]): Copy[] {
  const copies: Copy[] = [];
  let noclobber = false;
  steps.forEach((step, index) => {
    if (program(step) === 'set') {
      const words = step.words.slice(1);
      if (words.some((w, i) => /^-[a-zA-Z]*C/.test(w) || (w === '-o' && words[i + 1] === 'noclobber'))) noclobber = true;
      if (words.some((w, i) => /^\+[a-zA-Z]*C/.test(w) || (w === '+o' && words[i + 1] === 'noclobber'))) noclobber = false;
    }
    copies.push(...copyOf(step, index, noclobber, steps));
  });
  return copies;
}

export function normal(path: string): string {
  return posix.normalize(path).replace(/(.)\/+$/, '$1');
}

export function sameHost(a: Host | undefined, b: Host | undefined): boolean {
  if (!a || !b) return a === b;
  return a.host === b.host;
}

/**
 * The copy that later renames this one's file into place (`cp %p /a/%f.tmp && mv /a/%f.tmp /a/%f`):
 * the temporary file's fate does not matter, the rename's does.
 */
export function renamedBy(steps: Step[], copies: Copy[], copy: Copy): Copy | undefined {
  if (copy.tool === 'mv') return undefined;
  return copies.find((later) => {
    if (later.tool !== 'mv' || later.step <= copy.step || !sameHost(steps[later.step]!.remote, copy.remote)) return false;
    const sources = parseArgs('mv', steps[later.step]!.words).operands.slice(0, -1);
    return sources.some((source) => normal(source) === normal(copy.file));
  });
}
