// Turns the history's write operations into one record per write: what was written, where, and how
// it ended. A write invoked but never completed (the run crashed) is `pending`: indeterminate.
// An append (a unique value appended to an ordered list, keyed by a unique integer) is a write in
// every sense the checkers judge: acknowledged and missing is lost; present but never appended is
// an anomaly. Only the order check looks at appends apart.

import { isOp, type HistoryEvent, type Millis, type OpEvent, type OpFunction } from '../history/events.ts';

export type WriteOutcome = 'ok' | 'fail' | 'info' | 'pending';

/** The operations that put a value in the final state: a write (SET of a unique key) or an append. */
export type WriteFunction = Exclude<OpFunction, 'read'>;

/** A write or an append: the operations the checkers count as writes. */
export function isWriteFunction(f: OpFunction): f is WriteFunction {
  return f === 'write' || f === 'append';
}

export interface WriteRecord {
  key: number;
  value: string;
  /** write or append. */
  f: WriteFunction;
  process: number;
  node: string;
  invokeTime: Millis;
  outcome: WriteOutcome;
  completeTime?: Millis;
  error?: string;
  /** A warning that came with the acknowledgement (PostgreSQL's "already committed locally"). */
  warning?: string;
  /** What Redis's WAIT / WAITAOF returned after the acknowledgement, and whether it met what was asked. */
  confirmed?: OpEvent['confirmed'];
}

export function writeRecords(history: readonly HistoryEvent[]): Map<number, WriteRecord> {
  const writes = new Map<number, WriteRecord>();
  for (const event of history) {
    if (!isOp(event) || !isWriteFunction(event.f)) continue;
    if (event.type === 'invoke') {
      writes.set(event.key, {
        key: event.key,
        value: event.value ?? '',
        f: event.f,
        process: event.process,
        node: event.node,
        invokeTime: event.time,
        outcome: 'pending',
      });
      continue;
    }
    const record = writes.get(event.key);
    if (!record || record.process !== event.process) continue; // a completion without its invoke
    record.outcome = (event as OpEvent).type as WriteOutcome;
    record.completeTime = event.time;
    record.node = event.node;
    if (event.error) record.error = event.error;
    if (event.warning) record.warning = event.warning;
    if (event.type === 'ok' && event.confirmed) record.confirmed = event.confirmed;
  }
  return writes;
}

export function acknowledged(writes: Map<number, WriteRecord>): WriteRecord[] {
  return [...writes.values()].filter((w) => w.outcome === 'ok');
}

/** Acknowledged writes missing from the final rows (or present with another value). */
export function lostWrites(writes: Map<number, WriteRecord>, rows: Record<string, string>): WriteRecord[] {
  return acknowledged(writes)
    .filter((w) => rows[String(w.key)] !== w.value)
    .sort((a, b) => (a.completeTime ?? 0) - (b.completeTime ?? 0));
}
