import type { IntegrityRun, IntegrityVerdict } from '../history/final-state.ts';
import type { Checker } from './types.ts';

/** Relations a verification tool's output names as damaged ('heap table "db.public.t"', 'btree index "…"'). */
function damagedRelations(output: string): string[] {
  return [...new Set([...output.matchAll(/(heap table|btree index|relation) "([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}`))];
}

/**
 * What a run shows. The engine's final read sets it, reading each tool's exit code as its manual
 * defines it; runs recorded before that carry only the exit code: 0 found nothing, -1 (the tool
 * did not run) could not tell, anything else was taken for damage then and is read so again.
 */
export function verdictOf(run: IntegrityRun): IntegrityVerdict {
  if (run.verdict) return run.verdict;
  return run.exitCode === 0 ? 'ok' : run.exitCode < 0 ? 'unknown' : 'damaged';
}

/** The line of a tool's output that says most: its first error or warning, else its first line. */
function wordsOf(run: IntegrityRun): string {
  if (run.why) return run.why;
  const lines = run.output.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error|warning|fatal|failed/i.test(l)) ?? lines[0] ?? 'no output';
}

function finding(run: IntegrityRun): string {
  const relations = damagedRelations(run.output);
  const first = run.output.trim().split('\n')[0] ?? '';
  return `${run.tool} on ${run.node} (exit ${run.exitCode})${relations.length ? ` names ${relations.slice(0, 5).join(', ')}` : ''}: ${first}`;
}

function couldNotTell(run: IntegrityRun): string {
  return `${run.tool} on ${run.node} could not tell (exit ${run.exitCode}): ${wordsOf(run)}`;
}

/**
 * Integrity: the server's own verification tools report no corruption on any surviving node:
 * pg_amcheck (every table and every B-tree index, heap against index) on the primary and every
 * replica that serves, pg_checksums on a node whose server is stopped, the backup repository's own
 * verification, redis-check-aof and redis-check-rdb. Each run is read as its tool's manual defines
 * it: damage it reports fails the check; a tool that could not tell (its own error, a timeout,
 * nothing to check) makes the check unknown, never a pass and never a finding. A node that could
 * not be verified at all is named; when none could, the answer is unknown; when there is nothing
 * to verify anywhere by design (persistence off), the check is skipped, with that reason.
 */
export const integrityChecker: Checker = ({ final }) => {
  const runs = final?.integrity ?? [];
  const checked = runs.filter((r) => !r.skipped);
  const skipped = runs.filter((r) => r.skipped);
  const damaged = checked.filter((r) => verdictOf(r) === 'damaged');
  const unknown = checked.filter((r) => verdictOf(r) === 'unknown');
  const ok = checked.filter((r) => verdictOf(r) === 'ok');
  const perNode: Record<string, string> = {};
  for (const r of runs) {
    const verdict = verdictOf(r);
    perNode[`${r.node} (${r.tool})`] = r.skipped
      ? `${r.notApplicable ? 'nothing to verify' : 'not checked'}: ${r.skipped}`
      : verdict === 'ok'
        ? 'no corruption found'
        : verdict === 'damaged'
          ? `damage found (exit ${r.exitCode})`
          : `could not tell (exit ${r.exitCode}): ${wordsOf(r)}`;
  }
  const details = { runs, perNode, damaged: damaged.map((r) => r.node), couldNotTell: unknown.map((r) => r.node) };
  const unverified = skipped.filter((r) => !r.notApplicable);
  const nothing = skipped.filter((r) => r.notApplicable);
  const notChecked =
    (unverified.length ? `; not checked: ${unverified.map((r) => `${r.node} (${r.skipped})`).join(', ')}` : '') +
    (nothing.length ? `; nothing to verify on ${nothing.map((r) => `${r.node} (${r.skipped})`).join(', ')}` : '');
  const clean = ok.length ? `; ${ok.map((r) => `${r.tool} on ${r.node}`).join(', ')}: no corruption found` : '';
  if (damaged.length > 0) {
    const unsure = unknown.length ? `; ${unknown.map(couldNotTell).join('; ')}` : '';
    return { name: 'integrity', valid: false, summary: `${damaged.map(finding).join('; ')}${unsure}${notChecked}`, details };
  }
  if (unknown.length > 0) return { name: 'integrity', valid: 'unknown', summary: `${unknown.map(couldNotTell).join('; ')}${clean}${notChecked}`, details };
  if (checked.length === 0) {
    if (skipped.length > 0 && skipped.every((r) => r.notApplicable)) {
      return { name: 'integrity', valid: 'skipped', summary: `nothing to verify: ${skipped.map((r) => `${r.node} (${r.skipped})`).join(', ')}`, details };
    }
    return { name: 'integrity', valid: 'unknown', summary: `no verification tool could be run${notChecked}`, details };
  }
  return { name: 'integrity', valid: true, summary: `${ok.map((r) => `${r.tool} on ${r.node}`).join(', ')}: no corruption found${notChecked}`, details };
};
