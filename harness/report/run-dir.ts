// Each run gets its own folder, <out>/<experiment>/<iso-time>/, and <out>/<experiment>/latest
// points at the newest one.

import { existsSync, lstatSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function createRunDir(outDir: string, experiment: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const base = resolve(outDir, experiment);
  let dir = join(base, stamp);
  for (let n = 2; existsSync(dir); n++) dir = join(base, `${stamp}-${n}`);
  mkdirSync(dir, { recursive: true });
  const latest = join(base, 'latest');
  try {
    if (lstatSync(latest, { throwIfNoEntry: false })) unlinkSync(latest);
    symlinkSync(dir.slice(base.length + 1), latest);
  } catch {
    // A file system without symbolic links: the folders are still there, newest last.
  }
  return dir;
}

/** A run folder, or an experiment folder (then its `latest` run). */
export function resolveRunDir(dir: string): string {
  const latest = join(dir, 'latest');
  if (!existsSync(join(dir, 'history.jsonl')) && existsSync(latest)) return resolve(dir, readlinkSync(latest));
  return resolve(dir);
}
