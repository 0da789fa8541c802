import { writeRecords } from './writes.ts';
import type { Checker } from './types.ts';

/**
 * Indeterminate writes (timeouts, dropped connections, a crash during COMMIT, or a run that ended
 * before the write completed) may or may not have been applied. They are counted, with how many
 * survived, and never judged: this check is a measure, so it is always reported as skipped.
 */
export const indeterminateChecker: Checker = ({ history, final }) => {
  const writes = [...writeRecords(history).values()].filter((w) => w.outcome === 'info' || w.outcome === 'pending');
  const rows = final?.primary?.rows;
  const survived = rows ? writes.filter((w) => rows[String(w.key)] === w.value).length : undefined;
  return {
    name: 'indeterminate-writes',
    valid: 'skipped',
    summary:
      writes.length === 0
        ? 'no indeterminate writes (counted, not judged)'
        : `${writes.length} indeterminate writes${survived === undefined ? '' : `, ${survived} of them survived`} (counted, not judged)`,
    details: {
      indeterminate: writes.length,
      pending: writes.filter((w) => w.outcome === 'pending').length,
      survived: survived ?? null,
      first: writes.slice(0, 10).map((w) => ({ key: w.key, node: w.node, error: w.error ?? 'never completed' })),
    },
  };
};
