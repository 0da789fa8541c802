// Why a drill failed, in one sentence a user understands: what the checks saw (writes lost, a
// restore that stopped short), then the setting most likely behind it, from the preflight findings.

import type { ExperimentResult } from '../experiment/index.ts';
import type { Finding } from './rules/types.ts';
import type { LoadedUserConfig } from './user-config.ts';
import type { ValidateDrill } from './drills.ts';

/** Checks in the order a user cares about: the first failing one is what the sentence says. */
const CHECK_ORDER = ['restore-completed', 'lost-writes', 'integrity', 'anomalies', 'archive-continuity', 'replica-parity', 'restore-rehearsal', 'faults-applied'];

/** Rule ids (by the words in them) that can explain a failure of each drill. */
const SUSPECTS: Record<string, string[]> = {
  crash: ['fsync', 'full-page', 'data-sync', 'sync-commit'],
  restore: ['domain', 'archiv', 'wal-level', 'retention', 'queue', 'timeout', 'fsync'],
  'lagging-failover': ['sync-commit', 'standby', 'async', 'replica', 'slot'],
  'stale-snapshot': ['sync-commit', 'standby', 'async', 'replica', 'archiv', 'domain'],
  'domain-loss': ['domain', 'standby', 'async', 'replica', 'archiv', 'sync-commit'],
  'archive-outage': ['queue', 'archiv', 'standby', 'async', 'sync-commit', 'slot'],
};

export function explainDrill(drill: ValidateDrill, result: ExperimentResult, findings: Finding[], loaded: LoadedUserConfig): string {
  const failing = result.checks.filter((c) => c.status === 'fail' || c.status === 'unknown');
  if (failing.length === 0) return `the drill could not run: ${(result.error ?? 'no check failed, yet the run failed').split('\n')[0]}`;
  const first = [...failing].sort((a, b) => rank(a.name) - rank(b.name))[0]!;
  const what =
    first.name === 'lost-writes' && result.writes.lost !== null
      ? `${result.writes.lost} of ${result.writes.acknowledged} acknowledged writes were lost`
      : first.summary.replace(/\.$/, '');
  const words = SUSPECTS[drill.name] ?? [];
  const suspect = findings.find((f) => f.severity !== 'info' && words.some((w) => f.rule.includes(w)));
  if (suspect) return `${what}: ${suspect.message}`;
  const restoreDomainShared = drill.name === 'domain-loss' && sharesPrimaryDomain(loaded);
  if (restoreDomainShared) return `${what}: ${restoreDomainShared}`;
  return what;
}

function rank(check: string): number {
  const i = CHECK_ORDER.indexOf(check);
  return i === -1 ? CHECK_ORDER.length : i;
}

/** The nodes lost with the primary's domain, when the archive or every replica is among them. */
function sharesPrimaryDomain(loaded: LoadedUserConfig): string | undefined {
  const nodes = loaded.topology.postgres.nodes;
  const primary = nodes.find((n) => n.role === 'primary')!;
  const shared = nodes.filter((n) => n !== primary && n.domain === primary.domain);
  if (shared.length === 0) return undefined;
  return `${shared.map((n) => `'${n.name}' (${n.role})`).join(' and ')} ${shared.length === 1 ? 'was' : 'were'} in the primary's failure domain '${primary.domain}' and went with it`;
}
