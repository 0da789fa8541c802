// One way to wait: poll a condition until it holds, a deadline passes or an abort signal fires,
// and when giving up say what was awaited and what was last seen. Every "until ready" loop of the
// harness goes through here, so each timeout message reads the same and none can spin forever.
// `withDeadline` bounds a whole phase the same way.

import { DeadlineError, formatBound } from './errors.ts';

export interface WaitOptions {
  /** What is awaited, in words that finish "timed out waiting for …": "pg-replica to stream". */
  what: string;
  timeoutMs: number;
  /** Pause between checks. Default 200 ms. */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Builds the error thrown on timeout (default: a plain Error), e.g. a ClusterError. */
  error?: (message: string) => Error;
}

/** Waits `ms` milliseconds (none when it is negative); rejects at once if `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal!.reason ?? new Error('aborted'));
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/**
 * Calls `check` until it returns something other than `undefined`, and returns that. `check` may
 * call `seen(text)` to say what it found, which the timeout message quotes. An error thrown by
 * `check` ends the wait at once (catch inside `check` what should be retried).
 */
export async function waitFor<T>(options: WaitOptions, check: (seen: (text: string) => void) => Promise<T | undefined>): Promise<T> {
  const { what, timeoutMs, intervalMs = 200, signal } = options;
  const deadline = performance.now() + timeoutMs;
  let last: string | undefined;
  const seen = (text: string) => {
    last = text;
  };
  for (;;) {
    signal?.throwIfAborted();
    const value = await check(seen);
    if (value !== undefined) return value;
    const left = deadline - performance.now();
    if (left <= 0) break;
    await sleep(Math.min(intervalMs, left), signal);
  }
  const message = `timed out after ${formatBound(timeoutMs)} waiting for ${what}${last ? ` (last seen: ${last})` : ''}`;
  throw options.error ? options.error(message) : new Error(message);
}

export interface DeadlineOptions {
  /** The phase or step, for the message: 'the final read'. */
  phase: string;
  ms: number;
  /** What the phase waits for, in words that finish "it was waiting for …". */
  awaited: string;
  /** What was last seen when the bound passed (read then, not before). */
  lastSeen?: () => string | undefined;
  /** Called when the bound passes, before the rejection (give up on what was waited for). */
  onTimeout?: () => void;
  /** The error to reject with instead of a DeadlineError. */
  error?: () => Error;
}

/**
 * Settles as `work` does, or rejects with a DeadlineError once `ms` have passed. The work itself is
 * not stopped (a promise cannot be): the caller ends what it waited on (clean-up removes the
 * containers), and the late outcome is ignored.
 */
export function withDeadline<T>(work: Promise<T>, options: DeadlineOptions): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      let seen: string | undefined;
      try {
        seen = options.lastSeen?.();
        options.onTimeout?.();
      } catch {
        // what was last seen, and giving up, are courtesies; the deadline stands without them
      }
      reject(options.error ? options.error() : new DeadlineError(options.phase, options.ms, options.awaited, seen));
    }, Math.max(0, options.ms));
  });
  work.catch(() => {}); // a late failure after the bound is not an unhandled rejection
  return Promise.race([work, bound]).finally(() => clearTimeout(timer));
}
