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
  /** A completion held by appendSoon, written together with the next event. */
  private held: string | undefined;
  private heldFlush: NodeJS.Immediate | undefined;
  private readonly onExit = () => this.flush();

  constructor(path: string, startedAt = performance.now()) {
    mkdirSync(dirname(path), { recursive: true });
    this.path = path;
    this.fd = openSync(path, 'a');
    this.startedAt = startedAt;
    process.on('exit', this.onExit);
  }

  /** Milliseconds since the run started. */
  now(): Millis {
    return Math.round((performance.now() - this.startedAt) * 1000) / 1000;
  }

  /** Appends one event (stamped with the current time unless it has one) and returns it. */
  append<E extends HistoryEvent>(event: Unstamped<E>): E {
    const stamped = { ...event, time: event.time ?? this.now() } as unknown as E;
    if (this.fd === undefined) throw new Error(`History ${this.path} is closed`);
    const line = `${JSON.stringify(stamped)}\n`;
    writeSync(this.fd, this.held === undefined ? line : this.takeHeld() + line);
    this.count++;
    return stamped;
  }

  /**
   * Like append, for an operation's completion: the event is stamped now and written with the next
   * event anyone appends (one write instead of two), or at the end of this turn of the event loop
   * if none comes first. Nothing the harness does after it reaches a server or a node without an
   * append first (every command is preceded by its invoke), so the file keeps the order of events
   * and each is on disk before anything that followed it took effect; a SIGKILL in between loses
   * the completion as if it had struck a moment earlier, before the reply was read.
   */
  appendSoon<E extends HistoryEvent>(event: Unstamped<E>): E {
    const stamped = { ...event, time: event.time ?? this.now() } as unknown as E;
    if (this.fd === undefined) throw new Error(`History ${this.path} is closed`);
    const line = `${JSON.stringify(stamped)}\n`;
    this.held = this.held === undefined ? line : this.held + line;
    this.heldFlush ??= setImmediate(() => this.flush());
    this.count++;
    return stamped;
  }

  private takeHeld(): string {
    const held = this.held ?? '';
    this.held = undefined;
    if (this.heldFlush) clearImmediate(this.heldFlush);
    this.heldFlush = undefined;
    return held;
  }

  /** Writes a completion still held by appendSoon (readers in this process call it first). */
  flush(): void {
    if (this.held === undefined || this.fd === undefined) return;
    writeSync(this.fd, this.takeHeld());
  }

  get eventCount(): number {
    return this.count;
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    process.off('exit', this.onExit);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
