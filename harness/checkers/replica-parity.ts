import type { Checker } from './types.ts';

/**
 * Replica parity: every surviving replica holds exactly the primary's rows, compared as a content
 * hash per table. A replica that could not be read is reported, not compared.
 */
export const replicaParityChecker: Checker = ({ final }) => {
  const primary = final?.primary?.tables;
  if (!final || !primary) return { name: 'replica-parity', valid: 'unknown', summary: "the primary's tables could not be hashed", details: {} };
  const compared = final.replicas.filter((r) => r.tables);
  const unreadable = final.replicas.filter((r) => !r.tables).map((r) => ({ node: r.node, error: r.error ?? 'no answer' }));
  const differing = compared.flatMap((replica) => {
    const tables = new Set([...Object.keys(primary), ...Object.keys(replica.tables!)]);
    return [...tables]
      .filter((table) => primary[table] !== replica.tables![table])
      .map((table) => ({ node: replica.node, table, primary: primary[table] ?? 'absent', replica: replica.tables![table] ?? 'absent' }));
  });
  const names = compared.map((r) => r.node).join(', ');
  return {
    name: 'replica-parity',
    valid: differing.length === 0,
    summary:
      compared.length === 0
        ? 'no surviving replica to compare'
        : differing.length === 0
          ? `${names}: same rows as the primary in ${Object.keys(primary).length} table(s)`
          : `${differing.length} table(s) differ between the primary and ${[...new Set(differing.map((d) => d.node))].join(', ')}`,
    details: { compared: compared.map((r) => r.node), unreadable, differing },
  };
};
