// Durability: whether a copy, or a sync or fsync after it on the same host, makes the archived
// file durable. Pure: no I/O.

import { posix } from 'node:path';
import { program } from '../../engines/postgres/index.ts';
import { normal, sameHost, type Copy } from './archive-copies.ts';
import type { Step } from './archive-steps.ts';

/** Whether a step makes the file durable: sync (all, or that file, or its file system with -f), fsync FILE. */
function syncsFile(step: Step, file: string): boolean {
  const name = program(step);
  if (name !== 'sync' && name !== 'fsync') return false;
  const options = step.words.slice(1).filter((w) => w.startsWith('-'));
  const operands = step.words.slice(1).filter((w) => !w.startsWith('-'));
  if (operands.length === 0) return name === 'sync';
  const target = normal(file);
  const dir = posix.dirname(target);
  const fileSystem = options.some((o) => o === '--file-system' || /^-[a-z]*f/.test(o));
  return operands.some((p) => {
    const path = normal(p);
    if (path === target) return true;
    if (!fileSystem) return false;
    const inside = (a: string, b: string) => a === b || a.startsWith(`${b}/`);
    return inside(dir, path) || inside(path, dir) || inside(dir, posix.dirname(path));
  });
}

/** Whether the copy, or something after it on the same host, makes it durable. */
export function madeDurable(steps: Step[], copy: Copy): boolean {
  if (copy.syncs) return true;
  for (let s = copy.step + 1; s < steps.length; s++) {
    const step = steps[s]!;
    if (s === copy.step + 1 && step.after === '||') continue;
    if (!sameHost(step.remote, copy.remote)) continue;
    if (syncsFile(step, copy.file)) return true;
  }
  return false;
}

/** Whether the directory entry naming the copy is made durable after it: sync of its directory, a plain sync, or sync -f of a path on its file system (the directory, one above it, or a file in it). */
export function entryDurable(steps: Step[], copy: Copy): boolean {
  const dir = posix.dirname(normal(copy.file));
  for (let s = copy.step + 1; s < steps.length; s++) {
    const step = steps[s]!;
    if (s === copy.step + 1 && step.after === '||') continue;
    if (!sameHost(step.remote, copy.remote)) continue;
    const name = program(step);
    if (name !== 'sync' && name !== 'fsync') continue;
    const options = step.words.slice(1).filter((w) => w.startsWith('-'));
    const operands = step.words.slice(1).filter((w) => !w.startsWith('-'));
    if (name === 'sync' && operands.length === 0) return true;
    const fileSystem = options.some((o) => o === '--file-system' || /^-[a-z]*f/.test(o));
    // sync -f syncs the whole file system of its operand: the directory itself, one above it, or a file in it.
    const covers = (path: string) => path === dir || (fileSystem && ((dir + '/').startsWith(path + '/') || path.startsWith(dir + '/')));
    if (operands.some((p) => covers(normal(p).replace(/\/+$/, '')))) return true;
  }
  return false;
}
