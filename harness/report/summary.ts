// The summary a person reads at the end of a run: one block per experiment, or a table side by side.

import type { ExperimentResult } from './result.ts';

const show = (value: number | null | boolean | undefined, unit = ''): string => (value === null || value === undefined ? '—' : `${value}${unit}`);

export function formatSummary(result: ExperimentResult, options: { documented?: boolean } = {}): string {
  const lines = [
    `${result.experiment} (seed ${result.seed}): ${result.verdict.toUpperCase()}`,
    `  writes: ${result.writes.acknowledged} acknowledged, ${show(result.writes.lost)} lost, ${result.writes.indeterminate} indeterminate, ` +
      `${result.writes.failed} failed, ${show(result.writes.anomalies)} anomalies`,
    `  RPO: ${show(result.rpo.writes)} writes over ${show(result.rpo.ms, ' ms')}   RTO: ${show(result.rtoMs, ' ms')}   restore completed: ${show(result.restore.completed)}`,
    ...result.checks.map((c) => `  ${c.valid === true ? 'ok  ' : c.valid === false ? 'FAIL' : c.valid === 'skipped' ? 'skip' : '??? '} ${c.name}: ${c.summary}`),
  ];
  for (const f of result.faults) {
    const how = f.notApplied ? `NOT APPLIED${f.optional ? ' (optional)' : ''}: ${f.notApplied}` : (f.detail ?? '');
    lines.push(`  fault ${f.name} on ${f.target} at ${Math.round(f.startMs)} ms: ${how}`);
  }
  if (result.error) lines.push(`  run error (faultline's own failure: this run shows nothing either way): ${result.error}`);
  if (options.documented) lines.push(`  ${result.documented.ok ? 'as documented' : 'NOT AS DOCUMENTED'}: ${result.documented.why}`);
  lines.push(`  files: ${result.dir}`);
  return lines.join('\n');
}

/** Experiments side by side: one column each, the numbers a reader compares. */
export function formatComparison(results: ExperimentResult[], options: { documented?: boolean } = {}): string {
  const rows: Array<[string, (r: ExperimentResult) => string]> = [
    ['verdict', (r) => r.verdict.toUpperCase()],
    ['acknowledged', (r) => show(r.writes.acknowledged)],
    ['lost', (r) => show(r.writes.lost)],
    ['indeterminate', (r) => show(r.writes.indeterminate)],
    ['RPO (writes)', (r) => show(r.rpo.writes)],
    ['RPO (window)', (r) => show(r.rpo.ms, ' ms')],
    ['RTO', (r) => show(r.rtoMs, ' ms')],
    ['restore completed', (r) => (r.restore.completed === null ? '—' : r.restore.completed ? 'yes' : 'NO')],
    ['backup rehearsed', (r) => (!r.restore.rehearsal ? '—' : !r.restore.rehearsal.completed ? 'NO' : r.restore.rehearsal.missing ? `${r.restore.rehearsal.missing} lost` : 'yes')],
    ['seed', (r) => String(r.seed)],
    ...(options.documented ? [['as documented', (r: ExperimentResult) => (r.documented.ok ? 'yes' : 'NO')] as [string, (r: ExperimentResult) => string]] : []),
  ];
  const label = Math.max(...rows.map(([name]) => name.length));
  const widths = results.map((r) => Math.max(r.experiment.length, ...rows.map(([, cell]) => cell(r).length)));
  const line = (first: string, cells: string[]) => `${first.padEnd(label)}  ${cells.map((c, i) => c.padStart(widths[i]!)).join('  ')}`;
  return [line('', results.map((r) => r.experiment)), ...rows.map(([name, cell]) => line(name, results.map(cell)))].join('\n');
}
