// The result of a proof of a user's backup (`faultline prove-backup`), built from its record alone:
// the driver builds it as the proof ends, and `faultline report` builds it again from result.json's
// `prove` record, which holds every input of its checks.

import { proveChecks } from '../checkers/prove.ts';
import type { ProveRecord } from '../history/prove-evidence.ts';
import { buildResult, type ExperimentResult } from './result.ts';

export interface ProofInput {
  name: string;
  record: ProveRecord;
  runId: string | null;
  timings: ExperimentResult['timings'];
  versions: Record<string, string>;
  dir: string;
  /** faultline's own failure, if any: the verdict is then broken. */
  error?: string;
}

export function buildProofResult(input: ProofInput): ExperimentResult {
  const { record } = input;
  const { judged } = record;
  const budgets = { now: new Date(judged.at), ...(judged.maxAgeMs !== undefined ? { maxAgeMs: judged.maxAgeMs } : {}), ...(judged.rtoBudgetMs !== undefined ? { rtoBudgetMs: judged.rtoBudgetMs } : {}) };
  const checks = proveChecks(record.evidence, record.phases, budgets, judged.checksGiven, record.unchanged);
  const result = buildResult({ experiment: input.name, seed: 0, runId: input.runId, history: [], final: null, checks, timings: input.timings, versions: input.versions, dir: input.dir, ...(input.error ? { error: input.error } : {}) });
  const completed = checks.find((c) => c.name === 'restore-completed')?.valid;
  const phases = record.phases;
  const toServe = (phases.fetch ?? 0) + (phases.restore ?? 0) + (phases.replay ?? 0);
  result.restore = { completed: completed === true ? true : completed === false ? false : null, durationMs: record.evidence?.started ? Math.round(toServe) : null };
  result.prove = record;
  return result;
}
