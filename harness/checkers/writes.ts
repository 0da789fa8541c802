// Turns the history's write operations into one record per write: what was written, where, and how
// it ended. A write invoked but never completed (the run crashed) is `pending`: indeterminate.

import { isOp, type HistoryEvent, type Millis, type OpEvent } from '../history/events.ts';

export type WriteOutcome = 'ok' | 'fail' | 'info' | 'pending';

export interface WriteRecord {
  key: number;
  value: string;
  process: number;
  node: string;
  invokeTime: Millis;
  outcome: WriteOutcome;
  completeTime?: Millis;
  error?: string;
  /** A warning that came with the acknowledgement (PostgreSQL's "already committed locally"). */
  warning?: string;
}

export function writeRecords(history: readonly HistoryEvent[]): Map<number, WriteRecord> {
  const writes = new Map<number, WriteRecord>();
  for (const event of history) {
    if (!isOp(event) || event.f !== 'write') continue;
    if (event.type === 'invoke') {
      writes.set(event.key, {
        key: event.key,
        value: event.value ?? '',
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
