import type { RecoveryEvent } from '../history/events.ts';
import type { Checker } from './types.ts';

/**
 * Replica parity: every replica that should follow the primary holds exactly the primary's rows,
 * compared as a content hash per table. A replica that could not be compared (unreadable, not
 * streaming from the current primary, orphaned by a failover, or not caught up) fails the check,
 * and so does a former primary that could not rejoin. With no replica left to compare the check is
 * skipped: that is not evidence of parity. Replicas compared over no table at all (the primary
 * holds none) show nothing either: unknown, never a pass.
 */
export const replicaParityChecker: Checker = ({ history, final }) => {
  const primary = final?.primary?.tables;
  if (!final || !primary) return { name: 'replica-parity', valid: 'unknown', summary: "the primary's tables could not be hashed", details: {} };
  const compared = final.replicas.filter((r) => r.tables && !r.error);
  const uncompared = final.replicas.filter((r) => !r.tables || r.error).map((r) => ({ node: r.node, error: r.error ?? 'no answer' }));
  const rejoins = history.filter((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'end' && e.name === 'rejoin' && e.outcome === 'failed');
  const differing = compared.flatMap((replica) => {
    const tables = new Set([...Object.keys(primary), ...Object.keys(replica.tables!)]);
    return [...tables]
      .filter((table) => primary[table] !== replica.tables![table])
      .map((table) => ({ node: replica.node, table, primary: primary[table] ?? 'absent', replica: replica.tables![table] ?? 'absent' }));
  });
  const details = { compared: compared.map((r) => r.node), uncompared, differing, failedRejoins: rejoins.map((r) => r.detail ?? 'no reason given') };
  const problems = [
    ...uncompared.map((u) => `${u.node} could not be compared: ${u.error}`),
    ...rejoins.map((r) => `the former primary did not rejoin: ${r.detail ?? 'no reason given'}`),
    ...(differing.length ? [`${differing.length} table(s) differ between the primary and ${[...new Set(differing.map((d) => d.node))].join(', ')}`] : []),
  ];
  if (problems.length > 0) return { name: 'replica-parity', valid: false, summary: problems.join('; '), details };
  if (compared.length === 0) return { name: 'replica-parity', valid: 'skipped', summary: 'no surviving replica to compare', details };
  const tables = new Set([...Object.keys(primary), ...compared.flatMap((r) => Object.keys(r.tables!))]);
  if (tables.size === 0) {
    return { name: 'replica-parity', valid: 'unknown', summary: `${compared.map((r) => r.node).join(', ')} and the primary hold no table to compare, so their parity was not shown`, details };
  }
  return {
    name: 'replica-parity',
    valid: true,
    summary: `${compared.map((r) => r.node).join(', ')}: same rows as the primary in ${Object.keys(primary).length} table(s)`,
    details,
  };
};
