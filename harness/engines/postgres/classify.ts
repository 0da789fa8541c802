// Whether a failed operation definitely did not happen (`fail`) or may have (`info`). Getting this
// wrong in the `fail` direction makes the harness cry wolf (an anomaly that is not one) or, worse,
// lets a real loss hide among "failed" writes; so anything not known to be harmless is `info`.

import type { Completion } from '../../workload/loop.ts';

export type { Completion };

/**
 * The warning PostgreSQL gives when the wait for synchronous replication is cancelled after the
 * local commit. Its message says only that the wait was cancelled ("canceling wait for synchronous
 * replication due to user request"); that the transaction "has already committed locally, but
 * might not have been replicated to the standby" is in its DETAIL.
 */
const COMMITTED_LOCALLY = /already committed locally|might not have been replicated/i;

/** A notice as the `pg` driver delivers it (message and, separately, its DETAIL). */
export interface ServerNotice {
  message?: string;
  detail?: string;
}

/** Whether a notice says the commit happened locally but may not have reached the synchronous standby. */
export function isCommittedLocallyNotice(notice: ServerNotice): boolean {
  return COMMITTED_LOCALLY.test(`${notice.message ?? ''}\n${notice.detail ?? ''}`);
}

/** One line for the history: the message, and the DETAIL that explains it. */
export function describeNotice(notice: ServerNotice): string {
  return [notice.message, notice.detail].filter(Boolean).join(' DETAIL: ');
}

/**
 * Classifies an error from a single-statement (autocommit) write.
 * - Before the statement reached the server (the connection could not be made): `fail`.
 * - An ERROR-severity response from the server: the statement's transaction was rolled back, so
 *   `fail` (read-only transaction, disk full while inserting, constraint violations, …).
 * - FATAL or PANIC responses, dropped connections, timeouts and anything unrecognised: the commit
 *   may or may not have happened, so `info`.
 */
export function classifyWriteError(error: unknown, phase: 'connect' | 'statement'): Completion {
  if (phase === 'connect') return 'fail';
  const e = error as { severity?: unknown; code?: unknown } | null;
  if (e && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.severity === 'ERROR') {
    // Connection exceptions, operator intervention and system errors arrive as FATAL in practice,
    // but where they come as ERROR the connection may still be gone mid-commit: be careful.
    if (/^(08|57|58|XX)/.test(e.code)) return 'info';
    return 'fail';
  }
  return 'info';
}
