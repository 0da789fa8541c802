// The preflight rules of `faultline validate`: dangers in a backup configuration that show in the
// files alone. Every rule runs; one that throws becomes an error finding, not a crash, since a
// rule that could not look is never a pass.

import { describeError } from '../../errors.ts';
import { rule as archiveCommandNoop } from './archive-command-noop.ts';
import { rule as archiveCommandNoSync } from './archive-command-no-sync.ts';
import { rule as archiveCommandOverwrite } from './archive-command-overwrite.ts';
import { rule as archiveCommandUnrunnable } from './archive-command-unrunnable.ts';
import { rule as archiveModeOff } from './archive-mode-off.ts';
import { rule as archiveSameDomain } from './archive-same-domain.ts';
import { rule as archiveStreamedOnly } from './archive-streamed-only.ts';
import { rule as archiveTimeoutZero } from './archive-timeout-zero.ts';
import { rule as asyncReplica } from './async-replica.ts';
import { rule as dataSyncRetry } from './data-sync-retry.ts';
import { rule as fsyncOff } from './fsync-off.ts';
import { rule as fullPageWritesOff } from './full-page-writes-off.ts';
import { rule as noReplica } from './no-replica.ts';
import { rule as pgbackrestQueueMax } from './pgbackrest-queue-max.ts';
import { rule as replicationNoSlot } from './replication-no-slot.ts';
import { rule as retentionArchive } from './retention-archive.ts';
import { rule as slotWalLimit } from './slot-wal-limit.ts';
import { rule as syncStandbyArchive } from './sync-standby-archive.ts';
import { rule as syncStandbyUnknown } from './sync-standby-unknown.ts';
import { rule as syncStandbyUnreachable } from './sync-standby-unreachable.ts';
import { rule as synchronousCommitOff } from './synchronous-commit-off.ts';
import { rule as walLevelMinimal } from './wal-level-minimal.ts';
import { asyncFailover as patroniAsyncFailover, noWatchdog as patroniNoWatchdog, ttlBudget as patroniTtlBudget } from './patroni.ts';
import { sentinelRules } from './sentinel.ts';
import type { Finding, Rule, Severity, UserConfig } from './types.ts';

export type { Finding, Rule, RuleHit, Severity, Source, UserConfig } from './types.ts';

/** Every rule, grouped by what it protects: durability on the primary, the archive, replication. */
export const rules: Rule[] = [
  fsyncOff,
  fullPageWritesOff,
  dataSyncRetry,
  synchronousCommitOff,
  walLevelMinimal,
  archiveModeOff,
  archiveStreamedOnly,
  archiveCommandNoop,
  archiveCommandNoSync,
  archiveCommandOverwrite,
  archiveCommandUnrunnable,
  archiveSameDomain,
  archiveTimeoutZero,
  pgbackrestQueueMax,
  retentionArchive,
  noReplica,
  asyncReplica,
  syncStandbyArchive,
  syncStandbyUnreachable,
  syncStandbyUnknown,
  replicationNoSlot,
  slotWalLimit,
  patroniTtlBudget,
  patroniAsyncFailover,
  patroniNoWatchdog,
];

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/**
 * Runs every rule on the user's configuration: the findings, errors first, then warnings, then
 * information, each group in rule order.
 */
export function runPreflight(config: UserConfig, list: readonly Rule[] = rules): Finding[] {
  return runRules(config, list);
}

/** Runs `list` on `config` (a PostgreSQL configuration, or a Sentinel one): the findings, errors first. */
export function runRules<C>(config: C, list: readonly Rule<C>[]): Finding[] {
  const findings: Finding[] = [];
  for (const rule of list) {
    const data = { rule: rule.id, severity: rule.severity, title: rule.title, reason: rule.reason, fix: rule.fix, docs: rule.docs };
    try {
      for (const hit of rule.check(config)) findings.push({ ...data, ...hit });
    } catch (error) {
      findings.push({ ...data, severity: 'error', message: `rule failed: ${describeError(error)}` });
    }
  }
  // Array.prototype.sort is stable, so rule order survives within a severity.
  return findings.sort((a, b) => RANK[a.severity] - RANK[b.severity]);
}

/** The rules as data, for `faultline validate --rules`. */
export function describeRules(): Array<Pick<Rule, 'id' | 'severity' | 'title' | 'reason' | 'fix' | 'docs'>> {
  return [...rules, ...sentinelRules].map(({ id, severity, title, reason, fix, docs }) => ({ id, severity, title, reason, fix, docs }));
}
