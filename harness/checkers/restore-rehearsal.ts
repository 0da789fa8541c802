import type { HistoryEvent, RehearsalEvent } from '../history/events.ts';
import { lostWrites, writeRecords, type WriteRecord } from './writes.ts';
import { rehearsalRestore, restoreLoss } from './restore-loss.ts';
import type { Checker } from './types.ts';

/**
 * Restore rehearsal (only in experiments that ask for one): the latest backup and the WAL archive
 * restored into a scratch node, and it holds every write acknowledged before the WAL was switched
 * on the current primary and that segment archived (just before the rehearsal), but for
 * `maxLostWrites`. Recovery by failover alone proves nothing about the backups; this does. With no
 * write acknowledged before the cut-off there is nothing the backup must hold: unknown, never a pass.
 */
export const restoreRehearsalChecker: Checker = ({ history, final, expectations }) => {
  const end = history.find((e): e is RehearsalEvent => e.type === 'rehearsal' && e.phase === 'end');
  if (!end) {
    const started = history.some((e) => e.type === 'rehearsal');
    return { name: 'restore-rehearsal', valid: 'unknown', summary: started ? 'the restore rehearsal did not end (the run broke off)' : 'the run ended before the restore rehearsal', details: {} };
  }
  if (end.outcome !== 'ok') {
    return { name: 'restore-rehearsal', valid: false, summary: `the backup did not restore: ${end.detail ?? 'no reason given'}`, details: { ...end } };
  }
  // Recomputed from the scratch node's rows when the run recorded them (what lost-writes would call
  // lost, among the writes acknowledged before the cutoff); older runs carry only the count.
  const recomputed = final?.rehearsal && end.cutoff !== undefined ? rehearsalLoss(history, end.cutoff, final.rehearsal.rows) : undefined;
  const missing = recomputed?.missing.length ?? end.missing ?? 0;
  const acknowledged = recomputed?.acknowledged ?? end.acknowledged;
  const missingKeys = recomputed ? recomputed.missing.slice(0, 100).map((w) => w.key) : (end.missingKeys ?? []);
  const cutoffWhat = end.cutoffWhat ?? 'the last archived WAL switch';
  const restore = rehearsalRestore(history, final);
  const why = restore && recomputed && final?.rehearsal ? restoreLoss(history, restore.restore, recomputed.missing, final.rehearsal.rows, restore.began) : undefined;
  const details = { detail: end.detail, cutoffMs: end.cutoff, acknowledged, missing, missingKeys, ...(why ? { restoreLoss: why } : {}) };
  if (acknowledged === 0 || acknowledged === undefined) {
    return { name: 'restore-rehearsal', valid: 'unknown', summary: `the backup restored, but no write was acknowledged before ${cutoffWhat}, so nothing shows it holds what it must: ${end.detail}`, details };
  }
  const valid = missing <= expectations.maxLostWrites;
  return {
    name: 'restore-rehearsal',
    valid,
    summary:
      missing === 0
        ? `the backup restored and holds all ${acknowledged} writes acknowledged before ${cutoffWhat}: ${end.detail}`
        : `the backup restored but lacks ${missing} of the ${acknowledged} writes acknowledged before ${cutoffWhat} (${valid ? 'within' : 'over'} the ${expectations.maxLostWrites} allowed)${why ? `; ${why.summary}` : ''}: ${end.detail}`,
    details,
  };
};

/** The writes acknowledged before `cutoff` that the rehearsal's rows lack. */
export function rehearsalLoss(history: readonly HistoryEvent[], cutoff: number, rows: Record<string, string>): { acknowledged: number; missing: WriteRecord[] } {
  const before = new Map([...writeRecords(history)].filter(([, w]) => w.outcome === 'ok' && (w.completeTime ?? Infinity) < cutoff));
  return { acknowledged: before.size, missing: lostWrites(before, rows) };
}
