// The checks of `faultline prove-backup`, each a pure function of what the proof gathered: did the
// restore complete, where did replay stop, how fresh is the data, what did the integrity tools find,
// did the user's own checks hold, how long did it take, and was the user's repository left as it was.

import type { ProveEvidence, UnchangedEvidence } from '../history/prove-evidence.ts';
import type { CheckResult } from './types.ts';
import { formatMs } from '../units.ts';

export type { UnchangedEvidence } from '../history/prove-evidence.ts';

export interface ProveBudgets {
  /** The oldest the newest restored data may be (an RPO for the backups themselves). */
  maxAgeMs?: number;
  /** The longest the restore may take until the server serves. */
  rtoBudgetMs?: number;
  /** When the proof ran: ages are measured from here. */
  now: Date;
}

/** The server came up on the restored data and served a read and a write. */
export function restoreCompletedCheck(evidence: ProveEvidence | undefined): CheckResult {
  const name = 'restore-completed';
  if (!evidence) return { name, valid: 'unknown', summary: 'the proof did not get as far as a restore (see the error)', details: {} };
  const details = { started: evidence.started, ...(evidence.startError ? { startError: evidence.startError } : {}), read: evidence.read ?? null, write: evidence.write ?? null };
  if (!evidence.started) return { name, valid: false, summary: `the server did not come up on the restored data: ${evidence.startError ?? 'no reason was given'}`, details };
  if (!evidence.read || !evidence.write) return { name, valid: 'unknown', summary: 'the server came up, but it was not asked for a read and a write', details };
  if (!evidence.read.ok) return { name, valid: false, summary: `the server came up but did not serve a read: ${evidence.read.detail}`, details };
  if (!evidence.write.ok) return { name, valid: false, summary: `the server came up and served a read, but refused a write: ${evidence.write.detail}`, details };
  return { name, valid: true, summary: `the server came up on the restored data and served a read (${evidence.read.detail}) and a write (${evidence.write.detail})`, details };
}

/** Where replay stopped, against the newest point the backups hold and the target asked for. */
export function recoveryReachedCheck(evidence: ProveEvidence | undefined): CheckResult {
  const name = 'recovery-reached';
  const reached = evidence?.reached;
  if (!reached) {
    const why = evidence && !evidence.started ? `the server did not come up (${evidence.startError ?? 'no reason given'})` : 'nothing was read back';
    return { name, valid: 'unknown', summary: `where replay stopped could not be read: ${why}`, details: {} };
  }
  const details: Record<string, unknown> = { ...reached };
  const commit = reached.lastCommitAt ? `; the last restored commit is of ${reached.lastCommitAt}` : '';
  if (reached.short) return { name, valid: false, summary: `${reached.short}${commit}`, details };
  if (reached.target && !reached.target.reached) return { name, valid: false, summary: `${reached.point}, short of the target ${reached.target.asked}: ${reached.target.detail}${commit}`, details };
  const against = reached.target ? `, at the target ${reached.target.asked} (${reached.target.detail})` : reached.newest ? `, the newest point the backups hold (${reached.newest})` : '';
  return { name, valid: true, summary: `${reached.point}${against}${commit}`, details };
}

/** How old the newest restored data is, against --max-age. */
export function freshnessCheck(evidence: ProveEvidence | undefined, budgets: ProveBudgets): CheckResult {
  const name = 'freshness';
  const fresh = evidence?.freshness;
  if (!fresh) return { name, valid: 'unknown', summary: 'the restored data could not be dated: no commit time, backup stop time or segment time was read', details: {} };
  const ageMs = Math.max(0, budgets.now.getTime() - new Date(fresh.at).getTime());
  const by = { 'last-commit': 'the last restored commit', 'backup-stop': 'the backup\'s stop time (no commit was replayed)', 'newest-segment': 'the newest replayed WAL segment\'s time (no commit was replayed)', 'dump-time': 'the time the dump was written' }[fresh.by];
  const details = { at: fresh.at, by: fresh.by, ageMs, ...(budgets.maxAgeMs !== undefined ? { maxAgeMs: budgets.maxAgeMs } : {}), detail: fresh.detail };
  const measured = `the newest restored data is ${formatMs(ageMs)} old: ${by}, ${fresh.at}${fresh.detail ? ` (${fresh.detail})` : ''}`;
  if (budgets.maxAgeMs === undefined) return { name, valid: 'skipped', summary: `${measured}; no --max-age was given, so this is a measure, not a check`, details };
  return ageMs <= budgets.maxAgeMs
    ? { name, valid: true, summary: `${measured}, within --max-age ${formatMs(budgets.maxAgeMs)}`, details }
    : { name, valid: false, summary: `${measured}, older than --max-age ${formatMs(budgets.maxAgeMs)}: the backups lag by more than you accept`, details };
}

/** What the server's own verification tools said of the restored data and the backup. */
export function integrityCheck(evidence: ProveEvidence | undefined): CheckResult {
  const name = 'integrity';
  const readings = evidence?.integrity ?? [];
  const details = { tools: readings };
  const said = (verdict: string) => readings.filter((r) => r.verdict === verdict);
  const damaged = said('damaged');
  if (damaged.length > 0) return { name, valid: false, summary: `damage found: ${damaged.map((r) => `${r.tool}: ${r.detail}`).join('; ')}`, details };
  const unknown = said('unknown');
  if (unknown.length > 0) return { name, valid: 'unknown', summary: `could not tell: ${unknown.map((r) => `${r.tool}: ${r.detail}`).join('; ')}`, details };
  const ok = said('ok');
  if (ok.length === 0) return { name, valid: 'unknown', summary: `no verification tool ran${readings.length ? ` (${readings.map((r) => `${r.tool}: ${r.detail}`).join('; ')})` : ''}`, details };
  const skipped = said('skipped');
  return { name, valid: true, summary: `no damage found by ${ok.map((r) => r.tool).join(', ')}${skipped.length ? `; not run: ${skipped.map((r) => `${r.tool} (${r.detail})`).join(', ')}` : ''}`, details };
}

/** The user's own checks from --check, one by one. */
export function userChecksCheck(evidence: ProveEvidence | undefined, given: boolean): CheckResult {
  const name = 'user-checks';
  if (!given) return { name, valid: 'skipped', summary: 'no --check file was given', details: {} };
  const results = evidence?.userChecks;
  if (!results) return { name, valid: 'unknown', summary: `your checks did not run: ${evidence && !evidence.started ? 'the server did not come up' : 'the proof ended before them'}`, details: {} };
  const details = { checks: results };
  const failed = results.filter((r) => !r.ok);
  const line = (r: (typeof results)[number]) => `#${r.index} (line ${r.line}, ${r.where}) ${r.why}: ${r.text.length > 80 ? `${r.text.slice(0, 77)}...` : r.text}`;
  if (failed.length > 0) return { name, valid: false, summary: `${failed.length} of ${results.length} of your checks failed: ${failed.map(line).join('; ')}`, details };
  return { name, valid: true, summary: `all ${results.length} of your checks returned true`, details };
}

/** The phases that make the restore's time to serve (the checks after it are faultline's own). */
const SERVING_PHASES = ['fetch', 'restore', 'replay'];

/** The restore's wall time by phase, against --rto-budget. */
export function rtoCheck(evidence: ProveEvidence | undefined, phases: Record<string, number>, budgets: ProveBudgets): CheckResult {
  const name = 'rto';
  const toServe = SERVING_PHASES.reduce((sum, phase) => sum + (phases[phase] ?? 0), 0);
  const byPhase = Object.entries(phases).map(([phase, ms]) => `${phase} ${formatMs(ms)}`).join(', ');
  const details = { phases, toServeMs: toServe, ...(budgets.rtoBudgetMs !== undefined ? { budgetMs: budgets.rtoBudgetMs } : {}) };
  if (!evidence?.started) return { name, valid: 'unknown', summary: `the server never served, so the restore has no time to serve (${byPhase || 'no phase ended'})`, details };
  const measured = `the restore served after ${formatMs(toServe)} (${byPhase})`;
  if (budgets.rtoBudgetMs === undefined) return { name, valid: 'skipped', summary: `${measured}; no --rto-budget was given, so this is a measure, not a check`, details };
  return toServe <= budgets.rtoBudgetMs
    ? { name, valid: true, summary: `${measured}, within --rto-budget ${formatMs(budgets.rtoBudgetMs)}`, details }
    : { name, valid: false, summary: `${measured}, over --rto-budget ${formatMs(budgets.rtoBudgetMs)}`, details };
}

/** The user's paths were only read: their listings (names, sizes, times, modes) before and after are the same. */
export function backupUnchangedCheck(unchanged: UnchangedEvidence | undefined, mounts: ProveEvidence['mounts'] | undefined): CheckResult {
  const name = 'backup-unchanged';
  if (!unchanged) return { name, valid: 'unknown', summary: 'the listing after the proof could not be taken', details: {} };
  const details = { paths: unchanged.paths, mounts: mounts ?? [] };
  const changed = unchanged.paths.filter((p) => p.changes > 0);
  const flags = mounts?.length ? `; mounted ${mounts.map((m) => `${m.target} ${m.flags}`).join(', ')}` : '';
  if (changed.length > 0) return { name, valid: false, summary: `your backup changed while it was proved: ${changed.map((p) => `${p.what} ${p.source}: ${p.described}`).join('; ')}`, details };
  return { name, valid: true, summary: `${unchanged.paths.map((p) => `${p.what} (${p.files} files)`).join(' and ')} listed the same before and after (names, sizes, times, modes)${flags}`, details };
}

/** Every check of a proof, in the order a reader takes them. */
export function proveChecks(evidence: ProveEvidence | undefined, phases: Record<string, number>, budgets: ProveBudgets, checksGiven: boolean, unchanged: UnchangedEvidence | undefined): CheckResult[] {
  return [
    restoreCompletedCheck(evidence),
    recoveryReachedCheck(evidence),
    freshnessCheck(evidence, budgets),
    integrityCheck(evidence),
    userChecksCheck(evidence, checksGiven),
    rtoCheck(evidence, phases, budgets),
    backupUnchangedCheck(unchanged, evidence?.mounts),
  ];
}
