import type { IntegrityRun } from '../history/final-state.ts';
import type { Checker } from './types.ts';

/** Relations a verification tool's output names as damaged ('heap table "db.public.t"', 'btree index "…"'). */
function damagedRelations(output: string): string[] {
  return [...new Set([...output.matchAll(/(heap table|btree index|relation) "([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}`))];
}

function finding(run: IntegrityRun): string {
  const relations = damagedRelations(run.output);
  const first = run.output.trim().split('\n')[0] ?? '';
  return `${run.tool} on ${run.node} (exit ${run.exitCode})${relations.length ? ` names ${relations.slice(0, 5).join(', ')}` : ''}: ${first}`;
}

/**
 * Integrity: the server's own verification tools report no corruption on any surviving node:
 * pg_amcheck (every table and every B-tree index, heap against index) on the primary and every
 * replica that serves, pg_checksums on a node whose server is stopped, and the backup repository's
 * own verification. A node that could not be verified is named; when none could, the answer is
 * unknown, never a pass.
 */
export const integrityChecker: Checker = ({ final }) => {
  const runs = final?.integrity ?? [];
  const checked = runs.filter((r) => !r.skipped);
  const skipped = runs.filter((r) => r.skipped);
  const perNode: Record<string, string> = {};
  for (const r of runs) perNode[`${r.node} (${r.tool})`] = r.skipped ? `not checked: ${r.skipped}` : r.exitCode === 0 ? 'no corruption found' : `problems found (exit ${r.exitCode})`;
  const details = { runs, perNode };
  const notChecked = skipped.length ? `; not checked: ${skipped.map((r) => `${r.node} (${r.skipped})`).join(', ')}` : '';
  if (checked.length === 0) return { name: 'integrity', valid: 'unknown', summary: `no verification tool could be run${notChecked}`, details };
  const failed = checked.filter((r) => r.exitCode !== 0);
  return {
    name: 'integrity',
    valid: failed.length === 0,
    summary:
      failed.length === 0
        ? `${checked.map((r) => `${r.tool} on ${r.node}`).join(', ')}: no corruption found${notChecked}`
        : `${failed.map(finding).join('; ')}${notChecked}`,
    details,
  };
};
