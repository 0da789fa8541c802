// A little WAL on the primary while something waits for a closed segment to be archived.
//
// Barman's streaming archiver leaves the newest complete segment in its streaming directory until
// pg_receivewal has begun the next one (a .partial), which it does when the first record after a
// switch arrives. On a quiet primary that first record is the next checkpoint or standby snapshot,
// 15 s away or more; on a primary in service it is the next transaction. So the waits a drill makes
// on a segment Barman is to archive get, every 300 ms, one non-transactional logical decoding
// message (pg_logical_emit_message: a few bytes of WAL that replay ignores), as a busy primary
// would write anyway.

import { connectClient, type PostgresNodeHandle } from './postgres-node.ts';

const INTERVAL_MS = 300;

/**
 * Waits for `work` while the primary writes one small WAL record every 300 ms. The records only
 * speed the wait: when the primary cannot be reached, `work` is waited for as it is.
 */
export async function withWalFlowing<T>(primary: PostgresNodeHandle, work: Promise<T>): Promise<T> {
  let done = false;
  const settled = work.finally(() => {
    done = true;
  });
  const flowing = (async () => {
    const client = await connectClient(primary).catch(() => undefined);
    if (!client) return;
    try {
      while (!done) {
        await client.query("SELECT pg_logical_emit_message(false, 'faultline', 'wal-flow')");
        await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
      }
    } catch {
      // The primary went away (fenced, crashed) while the work went on: nothing more to speed.
    } finally {
      await client.end().catch(() => {});
    }
  })();
  try {
    return await settled;
  } finally {
    await flowing;
  }
}
