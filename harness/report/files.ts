// Writes a run's report files beside its history.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentResult } from './result.ts';
import type { FinalState } from '../history/final-state.ts';
import type { HistoryEvent } from '../history/events.ts';
import { renderHtml } from './html.ts';
import { toJUnit } from './junit.ts';

export function writeRunFiles(result: ExperimentResult, events: readonly HistoryEvent[], final?: FinalState | null): void {
  writeFileSync(join(result.dir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(result.dir, 'junit.xml'), toJUnit([result]));
  writeFileSync(join(result.dir, 'report.html'), renderHtml(result, events));
  if (final !== undefined) writeFileSync(join(result.dir, 'final-state.json'), `${JSON.stringify(final)}\n`);
}
