// `faultline report DIR`: checks a run again from its files alone. A run that crashed has a
// history but maybe no final state: then the checks that need one are unknown, never a pass.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCheckers, defaultExpectations, type Expectations } from '../checkers/index.ts';
import { readHistory } from '../history/reader.ts';
import type { FinalState } from '../history/final-state.ts';
import type { RunEvent } from '../history/events.ts';
import { writeRunFiles } from './files.ts';
import { buildResult, type ExperimentResult } from './result.ts';
import { buildProofResult } from './proof.ts';
import { resolveRunDir } from './run-dir.ts';

export interface Recheck {
  result: ExperimentResult;
  /** Lines of history.jsonl that could not be read (a torn last line). */
  skippedLines: number;
  /** Whether the run ended normally (its history has an end event). */
  complete: boolean;
}

/** Checks a run again; its files are rewritten only when `write` says so (`faultline report --write`). */
export function recheckRun(dir: string, options: { write?: boolean } = {}): Recheck {
  const runDir = resolveRunDir(dir);
  const { events, skipped } = readHistory(join(runDir, 'history.jsonl'));
  const start = events.find((e): e is RunEvent & { expectations?: Expectations } => e.type === 'run' && e.phase === 'start');
  const ready = events.find((e): e is RunEvent => e.type === 'run' && e.phase === 'phase' && e.name === 'cluster ready');
  const finalPath = join(runDir, 'final-state.json');
  const final = existsSync(finalPath) ? (JSON.parse(readFileSync(finalPath, 'utf8')) as FinalState) : null;
  const previous = existsSync(join(runDir, 'result.json')) ? (JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as Partial<ExperimentResult>) : {};
  // A proof of a user's backup is judged from its record (evidence, listings, budgets), not from a workload's history.
  if (previous.prove) {
    const result = buildProofResult({ name: previous.experiment ?? 'prove-backup', record: previous.prove, runId: previous.runId ?? null, timings: previous.timings ?? { clusterReadyMs: null, workloadMs: null, totalMs: 0 }, versions: previous.versions ?? {}, dir: runDir, ...(previous.error ? { error: previous.error } : {}) });
    if (options.write) writeRunFiles(result, events);
    return { result, skippedLines: skipped.length, complete: events.some((e) => e.type === 'run' && e.phase === 'end') };
  }
  const checks = runCheckers({ history: events, final, expectations: start?.expectations ?? defaultExpectations });
  const complete = events.some((e) => e.type === 'run' && e.phase === 'end');
  const last = events.at(-1)?.time ?? 0;
  const result = buildResult({
    experiment: start?.experiment ?? 'unknown',
    seed: start?.seed ?? 0,
    runId: ready?.runId ?? null,
    history: events,
    final,
    checks,
    timings: previous.timings ?? { clusterReadyMs: ready?.time ?? null, workloadMs: null, totalMs: Math.round(last) },
    versions: previous.versions ?? {},
    dir: runDir,
    ...(start?.expectations?.shows ? { shows: start.expectations.shows } : {}),
    ...(complete ? (previous.error ? { error: previous.error } : {}) : { error: 'the run did not finish (its history has no end): it crashed or was killed' }),
  });
  if (options.write) writeRunFiles(result, events);
  return { result, skippedLines: skipped.length, complete };
}
