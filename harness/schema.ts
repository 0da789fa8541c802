// Strict schemas at the edge (zod): objects refuse keys they do not know, with a "did you mean"
// for typos ("synchronus" silently giving an asynchronous replica is how a tool that proves
// guarantees lies), and every problem of an input is reported at once, each with its path.

import { z } from 'zod';
import { ConfigError } from './errors.ts';

/** Edit distance between two words (insertions, deletions, substitutions, adjacent swaps). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known word closest to `word`, when it is close enough to be a typo of it. */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** An object schema that refuses unknown keys, naming the closest known key for each. */
export function strictObject<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      return issue.keys
        .map((key) => {
          const guess = didYouMean(key, known);
          return `unknown key '${key}'${guess ? `: did you mean '${guess}'?` : ''} (known keys: ${known.join(', ')})`;
        })
        .join('; ');
    },
  });
}

/** A path as users write it: postgres.nodes[1].domain. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}

/** Every issue, one line each with its path, in a ConfigError that names the input (`where`). */
export function configErrorOf(issues: readonly z.core.$ZodIssue[], where: string): ConfigError {
  const lines = issues.map((issue) => `${issue.path.length ? `${formatPath(issue.path)}: ` : ''}${issue.message}`);
  if (lines.length === 1) return new ConfigError(`${where}: ${lines[0]}`);
  return new ConfigError(`${where}: ${lines.length} problems:\n  - ${lines.join('\n  - ')}`);
}

/** Parses `value` with `schema`, or throws a ConfigError listing every problem. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw configErrorOf(parsed.error.issues, where);
  return parsed.data;
}

/** A value as a message quotes it. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  return JSON.stringify(value);
}
