// Damage behind a server's back: seeded garbage written over chosen places of a file, and read back
// to prove it is there. Engines use it for their corruption kinds, faults for the backup repository.

import type { ClusterNode } from './engine.ts';
import { ClusterError } from '../errors.ts';
import type { Random } from '../random.ts';

/** `bytes` seeded random bytes, as hex ('0a1bff…'). */
export function garbage(bytes: number, random: Random): string {
  return Array.from({ length: bytes }, () => Math.floor(random() * 256).toString(16).padStart(2, '0')).join('');
}

/** A place in a file and the bytes (hex) written there. */
export interface Damage {
  offset: number;
  hex: string;
}

/** Seeded garbage of `bytes` bytes for each offset, drawn offset by offset. */
export function damageAt(offsets: readonly number[], bytes: number, random: Random): Damage[] {
  return offsets.map((offset) => ({ offset, hex: garbage(bytes, random) }));
}

/** A shell command that overwrites each place of `file` in place (behind any program that has it open). */
export function overwriteScript(file: string, places: readonly Damage[]): string {
  return places
    .map(({ offset, hex }) => `printf '${hex.replace(/(..)/g, '\\x$1')}' | dd of='${file}' bs=1 seek=${offset} conv=notrunc status=none`)
    .join(' && ');
}

/** A shell command that prints `bytes` bytes of `file` at `offset` as hex, one line. */
export function readBytesScript(file: string, offset: number, bytes: number): string {
  return `dd if='${file}' bs=1 skip=${offset} count=${bytes} status=none | od -An -v -tx1 | tr -d ' \\n'; echo`;
}

/**
 * How many of the places still hold the garbage written there (read back from the file itself).
 * Throws when the file could not be read at all (the node's container or volume is gone): that is
 * not the same as damage that was overwritten.
 */
export async function damageStillThere(node: ClusterNode, file: string, places: readonly Damage[]): Promise<number> {
  const script = `set -eo pipefail; ${places.map((p) => readBytesScript(file, p.offset, p.hex.length / 2)).join('; ')}`;
  const read = await node.exec(['bash', '-c', script], { user: 'root' });
  if (read.exitCode !== 0) throw new ClusterError(`could not read the damaged places of ${file} on ${node.name} back (exit ${read.exitCode}): ${read.stderr.trim().split('\n').slice(-2).join(' ')}`);
  const lines = read.stdout.split('\n');
  return places.filter((p, i) => lines[i]?.trim() === p.hex).length;
}
