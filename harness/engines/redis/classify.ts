// Whether a failed Redis command definitely did not happen (`fail`) or may have (`info`), by the
// same rule as classify.ts for PostgreSQL: anything not known to be harmless is `info`.
//
// - Before the command reached the server (no connection could be made, or the handshake was
//   refused): `fail`.
// - An error reply from the server (ioredis's ReplyError) whose first word says the command was
//   refused before it ran: `fail`. Redis checks these before executing anything: READONLY (a
//   replica), NOREPLICAS (min-replicas-to-write not met), MISCONF (the last RDB save failed, writes
//   refused), OOM (maxmemory reached), NOAUTH, WRONGTYPE, ERR (syntax, unknown command, …),
//   LOADING (the dataset is still loading), MASTERDOWN (replica-serve-stale-data no), BUSY (a script
//   is running), NOSCRIPT, EXECABORT (a transaction discarded).
// - Everything else: timeouts ("Command timed out"), a connection closed or reset while the command
//   was in flight (ECONNRESET, EPIPE, "Connection is closed."), ioredis's own retry errors, other
//   error replies and anything unrecognised: the command may or may not have been applied, `info`.

import { ReplyError } from 'ioredis';
import type { Completion } from '../../workload/loop.ts';

/** Error-reply prefixes Redis sends only when it refused the command without applying it. */
export const NOT_APPLIED_PREFIXES = ['READONLY', 'NOREPLICAS', 'MISCONF', 'OOM', 'NOAUTH', 'WRONGTYPE', 'ERR', 'LOADING', 'MASTERDOWN', 'BUSY', 'NOSCRIPT', 'EXECABORT'] as const;

const NOT_APPLIED = new RegExp(`^(${NOT_APPLIED_PREFIXES.join('|')})(\\s|$)`);

/** Whether the error is a reply from the server (not a client-side or connection error). */
export function isReplyError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  // ioredis types ReplyError as `any`; another copy of redis-errors, or a RESP3 SimpleError or
  // BlobError, is still named ReplyError.
  return (error as unknown) instanceof (ReplyError as new () => object) || error.name === 'ReplyError';
}

export function classifyRedisError(error: unknown, phase: 'connect' | 'command'): Completion {
  if (phase === 'connect') return 'fail';
  if (isReplyError(error) && NOT_APPLIED.test(error.message)) return 'fail';
  return 'info';
}

/** The error as a person reads it: the server's reply as it came, or the client error with its code. */
export function describeRedisError(error: unknown): string {
  if (isReplyError(error)) return error.message;
  const e = error as { code?: unknown; message?: unknown } | null;
  const text = error instanceof Error ? error.message : String(error);
  if (e && typeof e.code === 'string' && !text.includes(e.code)) return `${e.code}: ${text}`;
  return text;
}
