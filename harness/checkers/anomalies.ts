import { writeRecords } from './writes.ts';
import type { Checker } from './types.ts';

/**
 * Anomalies: values in the final state that no client wrote (never invoked, or another value than
 * the one invoked), or whose write definitely failed. Any anomaly fails the check.
 */
export const anomaliesChecker: Checker = ({ history, final }) => {
  const rows = final?.primary?.rows;
  if (!rows) {
    return { name: 'anomalies', valid: 'unknown', summary: 'the final state could not be read', details: {} };
  }
  const writes = writeRecords(history);
  const found: Array<{ key: string; value: string; reason: string }> = [];
  for (const [key, value] of Object.entries(rows)) {
    const write = writes.get(Number(key));
    if (!write) found.push({ key, value, reason: 'never written by any client' });
    else if (write.outcome === 'fail') found.push({ key, value, reason: `its write definitely failed (${write.error ?? 'no error text'})` });
    else if (write.value !== value && write.outcome !== 'ok') found.push({ key, value, reason: `holds '${value}' but '${write.value}' was written` });
  }
  return {
    name: 'anomalies',
    valid: found.length === 0,
    summary: found.length === 0 ? 'no value in the final state is unexplained' : `${found.length} values in the final state were never successfully written`,
    details: { anomalies: found.length, first: found.slice(0, 20) },
  };
};
