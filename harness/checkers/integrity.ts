import type { Checker } from './types.ts';

/**
 * Integrity: the server's own verification tools (pg_amcheck on the recovered primary, and more
 * where a scenario runs them) must report no corruption. Their output is kept in the details.
 */
export const integrityChecker: Checker = ({ final }) => {
  const runs = final?.integrity ?? [];
  if (runs.length === 0) return { name: 'integrity', valid: 'unknown', summary: 'no verification tool could be run', details: {} };
  const failed = runs.filter((r) => r.exitCode !== 0);
  return {
    name: 'integrity',
    valid: failed.length === 0,
    summary:
      failed.length === 0
        ? `${runs.map((r) => `${r.tool} on ${r.node}`).join(', ')}: no corruption found`
        : `${failed.map((r) => `${r.tool} on ${r.node} (exit ${r.exitCode})`).join(', ')} reported problems: ${failed[0]!.output.trim().split('\n')[0] ?? ''}`,
    details: { runs },
  };
};
