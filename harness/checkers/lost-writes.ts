import { acknowledged, lostWrites, writeRecords, type WriteRecord } from './writes.ts';
import { recoveryRestore, restoreLoss } from './restore-loss.ts';
import type { Checker } from './types.ts';

/**
 * Lost writes: acknowledged writes (and appends) absent from the recovered primary's final state
 * (or present with a value other than the one acknowledged). Fails when more are lost than the
 * experiment tolerates (default none). Without a final read the answer is unknown, never a pass. A
 * write acknowledged with a warning (PostgreSQL's "already committed locally, but might not have
 * been replicated") is acknowledged all the same; the details count how many lost writes carried
 * one. Likewise a write that Redis's WAIT or WAITAOF confirmed (`confirmed.met`) counts like any
 * other, but losing one is worth saying: the summary names how many and how they were confirmed.
 * With no write acknowledged at all nothing was shown either way: unknown, never a pass. Where a
 * restore brought the primary back, what it recorded says why the writes it lacks were lost (the
 * archive held no WAL past the backup; they came after the last WAL an asynchronous archive held).
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
  if (acked === 0) {
    return { name: 'lost-writes', valid: 'unknown', summary: 'no write was acknowledged, so nothing shows whether acknowledged writes survive', details: { acknowledged: 0, lost: 0 } };
  }
  const lost = lostWrites(writes, rows);
  const valid = lost.length <= expectations.maxLostWrites;
  const restore = recoveryRestore(history, final);
  const why = restore ? restoreLoss(history, restore.restore, lost, rows, restore.began) : undefined;
  const tolerance = expectations.maxLostWrites >= Number.MAX_SAFE_INTEGER ? ' (their window is judged by the RPO budget)' : expectations.maxLostWrites > 0 ? ` (tolerated: ${expectations.maxLostWrites})` : '';
  // Acknowledged, with PostgreSQL's warning that the commit might not have been replicated: the
  // client was told success, so they count as lost like any other; how many is worth knowing.
  const warned = lost.filter((w) => w.warning !== undefined).length;
  const warning = warned > 0 ? `; ${warned} of them were acknowledged with the warning '${lost.find((w) => w.warning)!.warning}'` : '';
  // Acknowledged and then confirmed by WAIT / WAITAOF as asked: the loss of these is the loss of a
  // guarantee the client asked for and was given, not only of an acknowledgement.
  const confirmedLost = lost.filter((w) => w.confirmed?.met === true);
  const confirmed = confirmedLost.length > 0 ? `; ${confirmedLost.length} of them had been confirmed by ${confirmations(confirmedLost)}` : '';
  const appends = [...writes.values()].some((w) => w.f === 'append');
  return {
    name: 'lost-writes',
    valid,
    summary:
      lost.length === 0
        ? `all ${acked} acknowledged writes are in the final state`
        : `${lost.length} of ${acked} acknowledged writes are missing from the final state${tolerance}${warning}${confirmed}${why ? `; ${why.summary}` : ''}`,
    details: {
      acknowledged: acked,
      lost: lost.length,
      /** Lost writes that were acknowledged with a warning (a cancelled synchronous wait). */
      lostWithWarning: warned,
      acknowledgedWithWarning: acknowledged(writes).filter((w) => w.warning !== undefined).length,
      /** Lost writes that WAIT / WAITAOF had confirmed as asked (`confirmed.met`), and the first of their keys. */
      confirmedLost: confirmedLost.length,
      confirmedLostKeys: confirmedLost.slice(0, 20).map((w) => w.key),
      ...(appends ? { lostAppends: lost.filter((w) => w.f === 'append').length } : {}),
      /** Every lost key, up to 10,000 (the count above is always complete). */
      lostKeys: lost.slice(0, 10_000).map((w) => w.key),
      /** Why a restore lost them, where what it recorded shows it (restore-loss.ts). */
      ...(why ? { restoreLoss: why } : {}),
      firstLost: lost.slice(0, 20).map((w) => ({ key: w.key, value: w.value, node: w.node, ackTime: w.completeTime, found: rows[String(w.key)] ?? null, ...(w.confirmed ? { confirmed: w.confirmed } : {}) })),
    },
  };
};

/** How the lost writes had been confirmed, e.g. "WAIT (1 replica)" or "WAIT (1 replica) or WAITAOF (local AOF, 1 replica's AOF)". */
function confirmations(lost: readonly WriteRecord[]): string {
  const counts = new Map<string, number>();
  for (const w of lost) {
    const how = describeConfirmation(w.confirmed!);
    counts.set(how, (counts.get(how) ?? 0) + 1);
  }
  const ways = [...counts].sort((a, b) => b[1] - a[1]).map(([how]) => how);
  return ways.length <= 3 ? ways.join(' or ') : `${ways.slice(0, 3).join(', ')} or ${ways.length - 3} other confirmations`;
}

function describeConfirmation(confirmed: NonNullable<WriteRecord['confirmed']>): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts: string[] = [];
  if (confirmed.replicas !== undefined) parts.push(`WAIT (${plural(confirmed.replicas, 'replica')})`);
  if (confirmed.aof) {
    const [local, replicas] = confirmed.aof;
    parts.push(`WAITAOF (${local > 0 ? 'local AOF, ' : ''}${replicas === 1 ? "1 replica's AOF" : `${replicas} replicas' AOFs`})`);
  }
  return parts.length ? parts.join(' and ') : 'WAIT';
}
