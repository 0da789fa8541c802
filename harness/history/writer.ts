// Appends the history to `history.jsonl` as it happens. Each event is one line written with a
// synchronous write to the file, so it is in the kernel's hands before the caller moves on: a run
// that crashes (even SIGKILL) leaves every event recorded up to that moment.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HistoryEvent, Millis } from './events.ts';

/** Events as the caller gives them: the writer stamps the time. */
export type Unstamped<E> = E extends HistoryEvent ? Omit<E, 'time'> & { time?: Millis } : never;

export class HistoryWriter {
  readonly path: string;
  private fd: number | undefined;
  private readonly startedAt: number;
  private count = 0;

  constructor(path: string, startedAt = performance.now()) {
    mkdirSync(dirname(path), { recursive: true });
    this.path = path;
    this.fd = openSync(path, 'a');
    this.startedAt = startedAt;
  }

  /** Milliseconds since the run started. */
  now(): Millis {
    return Math.round((performance.now() - this.startedAt) * 1000) / 1000;
  }

  /** Appends one event (stamped with the current time unless it has one) and returns it. */
  append<E extends HistoryEvent>(event: Unstamped<E>): E {
    const stamped = { ...event, time: event.time ?? this.now() } as unknown as E;
    if (this.fd === undefined) throw new Error(`History ${this.path} is closed`);
    writeSync(this.fd, `${JSON.stringify(stamped)}\n`);
    this.count++;
    return stamped;
  }

  get eventCount(): number {
    return this.count;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
