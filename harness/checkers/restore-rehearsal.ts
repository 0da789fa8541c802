import type { RehearsalEvent } from '../history/events.ts';
import type { Checker } from './types.ts';

/**
 * Restore rehearsal (only in experiments that ask for one): the latest backup and the WAL archive
 * restored into a scratch node, and it holds every write acknowledged before the WAL was switched
 * on the current primary and that segment archived (just before the rehearsal), but for
 * `maxLostWrites`. Recovery by failover alone proves nothing about the backups; this does.
 */
export const restoreRehearsalChecker: Checker = ({ history, expectations }) => {
  const end = history.find((e): e is RehearsalEvent => e.type === 'rehearsal' && e.phase === 'end');
  if (!end) {
    const started = history.some((e) => e.type === 'rehearsal');
    return { name: 'restore-rehearsal', valid: 'unknown', summary: started ? 'the restore rehearsal did not end (the run broke off)' : 'the run ended before the restore rehearsal', details: {} };
  }
  if (end.outcome !== 'ok') {
    return { name: 'restore-rehearsal', valid: false, summary: `the backup did not restore: ${end.detail ?? 'no reason given'}`, details: { ...end } };
  }
  const missing = end.missing ?? 0;
  const details = { detail: end.detail, cutoffMs: end.cutoff, acknowledged: end.acknowledged, missing, missingKeys: end.missingKeys ?? [] };
  const valid = missing <= expectations.maxLostWrites;
  return {
    name: 'restore-rehearsal',
    valid,
    summary:
      missing === 0
        ? `the backup restored and holds all ${end.acknowledged} writes acknowledged before the last archived WAL switch: ${end.detail}`
        : `the backup restored but lacks ${missing} of the ${end.acknowledged} writes acknowledged before the last archived WAL switch (${valid ? 'within' : 'over'} the ${expectations.maxLostWrites} allowed): ${end.detail}`,
    details,
  };
};
