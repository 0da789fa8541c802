import { isOp, type HistoryEvent, type Millis } from '../history/events.ts';
import { writeRecords } from './writes.ts';
import type { Checker } from './types.ts';

/** An append held ahead of one that was acknowledged before it was invoked. */
export interface Reordering {
  key: number;
  position: number;
  invokedMs: Millis;
  /** The append it should have followed: acknowledged before `key` was invoked, yet after it in the list. */
  before: { key: number; position: number; ackedMs: Millis };
}

export interface OrderFindings {
  /** Positions in the sequence held ahead of an append acknowledged before they were invoked. */
  reordered: number;
  examples: Reordering[];
  /** Keys the sequence holds more than once, with their positions. */
  duplicates: Array<{ key: number; positions: number[] }>;
  /** Entries of the sequence no client appended (the anomalies check judges them). */
  unknown: number;
}

const EXAMPLES = 10;

/**
 * Real-time order of appends, in O(n) over the sequence: an append acknowledged (ok event) before
 * another was invoked must come first in the list. Walking the sequence from its end while keeping
 * the earliest acknowledgement of the suffix, position i is reordered when some later entry was
 * acknowledged before entry i was invoked. An append not acknowledged (indeterminate, or failed but
 * present) has no acknowledgement time: it may sit anywhere after its invocation, so its ok time is
 * +infinity. Entries no client appended constrain nothing.
 */
export function orderFindings(history: readonly HistoryEvent[], sequence: readonly number[]): OrderFindings {
  const appends = new Map([...writeRecords(history)].filter(([, w]) => w.f === 'append'));
  const positions = new Map<number, number[]>();
  sequence.forEach((key, position) => {
    const seen = positions.get(key);
    if (seen) seen.push(position);
    else positions.set(key, [position]);
  });
  const duplicates = [...positions].filter(([, at]) => at.length > 1).map(([key, at]) => ({ key, positions: at }));

  let unknown = 0;
  let earliest = Infinity;
  let earliestAt = -1;
  /** [position, the later position acknowledged before it was invoked], from the end. */
  const violated: Array<[number, number]> = [];
  for (let i = sequence.length - 1; i >= 0; i--) {
    const append = appends.get(sequence[i]!);
    if (!append) {
      unknown++;
      continue;
    }
    if (earliest < append.invokeTime) violated.push([i, earliestAt]);
    const acked = append.outcome === 'ok' ? (append.completeTime ?? Infinity) : Infinity;
    if (acked < earliest) {
      earliest = acked;
      earliestAt = i;
    }
  }
  // Examples from the head of the list (the walk found them last).
  const examples = violated
    .slice(-EXAMPLES)
    .reverse()
    .map(([i, j]): Reordering => {
      const a = appends.get(sequence[i]!)!;
      const b = appends.get(sequence[j]!)!;
      return { key: a.key, position: i, invokedMs: a.invokeTime, before: { key: b.key, position: j, ackedMs: b.completeTime! } };
    });
  return { reordered: violated.length, examples, duplicates, unknown };
}

/**
 * Order (runs with appends only): the primary's list holds the appends in an order consistent
 * with real time, and each at most once. Skipped when the history has no append or the final
 * state carries no sequence; unknown when the primary could not be read.
 */
export const orderChecker: Checker = ({ history, final }) => {
  const appended = history.filter((e) => isOp(e) && e.f === 'append' && e.type === 'invoke').length;
  if (appended === 0) return { name: 'order', valid: 'skipped', summary: 'the history has no append operations: no order to check', details: { appends: 0 } };
  const primary = final?.primary;
  const sequence = primary?.sequence;
  if (!sequence) {
    if (!primary || primary.rows === undefined || primary.error !== undefined) {
      return {
        name: 'order',
        valid: 'unknown',
        summary: `${appended} appends, but the primary could not be read${primary?.error ? `: ${primary.error}` : ''}`,
        details: { appends: appended },
      };
    }
    return { name: 'order', valid: 'skipped', summary: `${appended} appends, but the final state has no sequence: the order of the primary's list was not read back`, details: { appends: appended } };
  }
  const found = orderFindings(history, sequence);
  const held = sequence.length;
  const details = {
    appends: appended,
    held,
    reordered: found.reordered,
    examples: found.examples,
    duplicates: found.duplicates.length,
    duplicateKeys: found.duplicates.slice(0, EXAMPLES),
    notAppended: found.unknown,
  };
  if (found.reordered === 0 && found.duplicates.length === 0) {
    return {
      name: 'order',
      valid: true,
      summary: held === 1 ? 'the 1 append held by the primary is in acknowledgement order' : `the ${held} appends held by the primary are in acknowledgement order`,
      details,
    };
  }
  const problems: string[] = [];
  if (found.reordered > 0) {
    const e = found.examples[0]!;
    problems.push(
      `${found.reordered} of the ${held} appends held by the primary ${found.reordered === 1 ? 'comes' : 'come'} before an append acknowledged before ${found.reordered === 1 ? 'it was' : 'they were'} invoked ` +
        `(e.g. key ${e.key} at position ${e.position}, invoked at ${Math.round(e.invokedMs)} ms, is ahead of key ${e.before.key} at position ${e.before.position}, acknowledged at ${Math.round(e.before.ackedMs)} ms)`,
    );
  }
  if (found.duplicates.length > 0) {
    const d = found.duplicates[0]!;
    problems.push(
      `${found.duplicates.length} ${found.duplicates.length === 1 ? 'key appears' : 'keys appear'} more than once in the list (e.g. key ${d.key} at positions ${d.positions.slice(0, 5).join(', ')})`,
    );
  }
  return { name: 'order', valid: false, summary: problems.join('; '), details };
};
