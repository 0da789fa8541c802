// What a person reads at the end of a proof: the verdict, what was restored, and each check.

import type { ExperimentResult } from '../report/result.ts';
import { formatMs } from '../units.ts';

export function formatProof(result: ExperimentResult): string {
  const prove = result.prove;
  const phases = prove ? Object.entries(prove.phases).map(([phase, ms]) => `${phase} ${formatMs(ms)}`).join(', ') : '';
  const lines = [
    `${result.experiment}: ${result.verdict.toUpperCase()}`,
    ...(prove ? [`  ${prove.source.label}: backup ${prove.backup.label}, target ${prove.target}${phases ? `; ${phases}` : ''}`] : []),
    ...result.checks.map((c) => `  ${c.valid === true ? 'ok  ' : c.valid === false ? 'FAIL' : c.valid === 'skipped' ? 'skip' : '??? '} ${c.name}: ${c.summary}`),
    ...(prove?.evidence?.notes ?? []).map((note) => `  note: ${note}`),
  ];
  if (result.error) lines.push(`  faultline's own error (this proof shows nothing either way): ${result.error}`);
  lines.push(`  files: ${result.dir}`);
  return lines.join('\n');
}
