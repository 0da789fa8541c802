import { acknowledged, lostWrites, writeRecords } from './writes.ts';
import type { Checker } from './types.ts';

/**
 * Lost writes: acknowledged writes absent from the recovered primary's final state (or present
 * with a value other than the one acknowledged). Fails when more are lost than the experiment
 * tolerates (default none). Without a final read the answer is unknown, never a pass. A write
 * acknowledged with a warning (PostgreSQL's "already committed locally, but might not have been
 * replicated") is acknowledged all the same; the details count how many lost writes carried one.
 */
export const lostWritesChecker: Checker = ({ history, final, expectations }) => {
  const writes = writeRecords(history);
  const acked = acknowledged(writes).length;
  const rows = final?.primary?.rows;
  if (!rows) {
    return {
      name: 'lost-writes',
      valid: 'unknown',
      summary: `${acked} acknowledged writes, but the final state could not be read${final?.primary?.error ? `: ${final.primary.error}` : ''}`,
      details: { acknowledged: acked },
    };
  }
  const lost = lostWrites(writes, rows);
  const valid = lost.length <= expectations.maxLostWrites;
  const tolerance = expectations.maxLostWrites >= Number.MAX_SAFE_INTEGER ? ' (their window is judged by the RPO budget)' : expectations.maxLostWrites > 0 ? ` (tolerated: ${expectations.maxLostWrites})` : '';
  // Acknowledged, with PostgreSQL's warning that the commit might not have been replicated: the
  // client was told success, so they count as lost like any other; how many is worth knowing.
  const warned = lost.filter((w) => w.warning !== undefined).length;
  const warning = warned > 0 ? `; ${warned} of them were acknowledged with the warning '${lost.find((w) => w.warning)!.warning}'` : '';
  return {
    name: 'lost-writes',
    valid,
    summary:
      lost.length === 0
        ? `all ${acked} acknowledged writes are in the final state`
        : `${lost.length} of ${acked} acknowledged writes are missing from the final state${tolerance}${warning}`,
    details: {
      acknowledged: acked,
      lost: lost.length,
      /** Lost writes that were acknowledged with a warning (a cancelled synchronous wait). */
      lostWithWarning: warned,
      acknowledgedWithWarning: acknowledged(writes).filter((w) => w.warning !== undefined).length,
      /** Every lost key, up to 10,000 (the count above is always complete). */
      lostKeys: lost.slice(0, 10_000).map((w) => w.key),
      firstLost: lost.slice(0, 20).map((w) => ({ key: w.key, value: w.value, node: w.node, ackTime: w.completeTime, found: rows[String(w.key)] ?? null })),
    },
  };
};
