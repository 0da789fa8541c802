// The recovery an experiment plans (`recovery`): which actions to try in order, a runbook and its
// budget, where a restore goes, a point in time, the rehearsal; checked against the engine's abilities.

import { ConfigError } from '../errors.ts';
import type { Engine } from '../cluster/engine.ts';
import type { Topology } from '../cluster/topology.ts';
import type { RecoveryAction, RecoveryPlan } from '../recovery/types.ts';
import { duration } from './durations.ts';

const RECOVERY_ACTIONS: RecoveryAction[] = ['failover', 'restore', 'runbook'];
/** A runbook's budget when the experiment gives none. */
export const DEFAULT_RUNBOOK_BUDGET_MS = 10 * 60_000;

/** The recovery as an experiment writes it. */
export interface RecoverySpec {
  at: string | number;
  try: RecoveryAction[];
  runbook?: { command: string; budget?: string | number };
  restoreDomain?: string;
  rejoin?: boolean;
  restoreTo?: string | number;
  rehearseRestore?: boolean;
}

/** Checks `recovery` and gives its plan, times in milliseconds. */
export function parseRecoveryPlan(r: RecoverySpec, topology: Topology, engine: Engine, where: string): RecoveryPlan {
  const atMs = duration(r.at, undefined, `${where}: recovery.at`)!;
  // Empty only for a restore rehearsal alone: nothing failed, and the backup is proved all the same.
  if (!Array.isArray(r.try) || (r.try.length === 0 && r.rehearseRestore !== true) || r.try.some((a) => !RECOVERY_ACTIONS.includes(a))) {
    throw new ConfigError(`${where}: recovery.try must list 'failover', 'restore' and/or 'runbook' in the order to try them (empty only with rehearseRestore), got ${JSON.stringify(r.try)}`);
  }
  if (r.try.includes('runbook') !== (r.runbook !== undefined)) {
    throw new ConfigError(
      r.runbook ? `${where}: recovery.runbook is given but recovery.try does not list 'runbook'` : `${where}: recovery.try lists 'runbook' but recovery.runbook does not say which command to run`,
    );
  }
  if (r.runbook && (typeof r.runbook.command !== 'string' || r.runbook.command.trim() === '')) {
    throw new ConfigError(`${where}: recovery.runbook.command must be a command line, e.g. './runbooks/restore.sh', got ${JSON.stringify(r.runbook.command)}`);
  }
  const runbookBudgetMs = r.runbook ? duration(r.runbook.budget, DEFAULT_RUNBOOK_BUDGET_MS, `${where}: recovery.runbook.budget`)! : undefined;
  if (r.restoreDomain !== undefined && !topology.domains.includes(r.restoreDomain)) {
    throw new ConfigError(`${where}: recovery.restoreDomain '${r.restoreDomain}' is not a declared failure domain (${topology.domains.join(', ')})`);
  }
  // A runbook is an ability an engine has or not; the other actions it lists.
  const can = [...engine.recoveryActions, ...(engine.runbooks ? ['runbook' as const] : [])];
  const unsupported = r.try.filter((action) => !can.includes(action));
  if (unsupported.length > 0) throw new ConfigError(`${where}: recovery.try lists ${unsupported.map((a) => `'${a}'`).join(', ')}, which the ${engine.label} engine cannot do (it can: ${can.join(', ')})`);
  const manager = engine.managerOf?.(topology);
  if (manager && r.try.includes('failover')) {
    throw new ConfigError(`${where}: recovery.try lists 'failover', but the topology's HA manager (${manager}) fails over, not faultline: remove 'failover' (faultline watches what ${manager} does; a runbook may drive it)`);
  }
  if (r.try.includes('restore') && !topology.nodes.some((n) => n.role === 'archive')) {
    throw new ConfigError(`${where}: recovery tries 'restore', but the topology has no archive node to restore from`);
  }
  if (r.rehearseRestore !== undefined && typeof r.rehearseRestore !== 'boolean') {
    throw new ConfigError(`${where}: recovery.rehearseRestore must be true or false, got ${JSON.stringify(r.rehearseRestore)}`);
  }
  if (r.rehearseRestore && !topology.nodes.some((n) => n.role === 'archive')) {
    throw new ConfigError(`${where}: recovery.rehearseRestore needs a backup to restore, but the topology has no archive node`);
  }
  if (r.rehearseRestore && r.restoreTo !== undefined) {
    throw new ConfigError(`${where}: recovery.rehearseRestore restores to the end of the archive; it cannot be combined with recovery.restoreTo`);
  }
  const restoreToMs = duration(r.restoreTo, undefined, `${where}: recovery.restoreTo`);
  if (restoreToMs !== undefined && restoreToMs > atMs) {
    throw new ConfigError(`${where}: recovery.restoreTo (${restoreToMs} ms) is after the recovery starts (${atMs} ms): it cannot restore to the future`);
  }
  return {
    atMs,
    try: r.try,
    ...(r.runbook ? { runbook: { command: r.runbook.command, budgetMs: runbookBudgetMs! } } : {}),
    ...(r.restoreDomain ? { restoreDomain: r.restoreDomain } : {}),
    ...(r.rejoin ? { rejoin: true } : {}),
    ...(restoreToMs !== undefined ? { restoreToMs } : {}),
    ...(r.rehearseRestore ? { rehearseRestore: true } : {}),
  };
}
