// The recovery steps of a run, as an operator would take them: a fresh base backup before the risky
// change (the rest of the timetable waits for it), the recovery actions in order until one works
// (failover, restore, the user's runbook), the follow-ups (the archive following the new primary, the
// old primary rejoining), and the restore rehearsal. Each is recorded in the history as it happens.

import { describeError } from '../errors.ts';
import type { ScratchNode, StartedCluster } from '../cluster/engine.ts';
import { rehearsalLoss } from '../checkers/index.ts';
import { readHistory } from '../history/index.ts';
import type { FinalState } from '../history/final-state.ts';
import { RECOVERY_AWAITS, type RecoveryClock, type RecoveryContext, type RecoveryPlan } from './types.ts';
import { runRunbook } from './runbook.ts';
import { sleep, withDeadline } from '../wait.ts';

/**
 * The fresh base backup before the risky change, when the experiment takes one. The change (what
 * is scheduled after it) waits until it has ended, done or failed.
 */
export async function runFreshBackup(atMs: number | undefined, { cluster, history, log }: RecoveryContext, timetable: RecoveryClock): Promise<void> {
  if (atMs === undefined) return;
  await timetable.until(atMs);
  history.append({ type: 'backup', phase: 'start' });
  log('taking a fresh base backup');
  const started = performance.now();
  try {
    const detail = await cluster.engine.freshBackup(cluster);
    history.append({ type: 'backup', phase: 'end', outcome: 'ok', detail });
    log(`fresh base backup done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (caught) {
    history.append({ type: 'backup', phase: 'end', outcome: 'failed', detail: describeError(caught) });
    log(`fresh base backup failed: ${describeError(caught)}`);
  } finally {
    timetable.backupEnded();
  }
}

/**
 * Recovery: tries each action in order until one works. An action that cannot complete (no
 * replica left, no backup, the archive lost with the primary) ends failed with its reason; the run
 * goes on to checking and reporting either way.
 */
export async function runRecovery(plan: RecoveryPlan | undefined, context: RecoveryContext, timetable: RecoveryClock): Promise<void> {
  if (!plan) return;
  const { cluster, history, log } = context;
  const engine = cluster.engine;
  await timetable.until(plan.atMs);
  // Recovery answers the faults before it: one that is still acting (slow on a busy machine) is waited for.
  const waited = await timetable.faultsActed(plan.atMs);
  if (waited > 0) log(`recovery begins ${waited} ms late: a fault scheduled before it was still acting`);
  for (const action of plan.try) {
    const before = cluster.primary();
    history.append({ type: 'recovery', phase: 'start', name: action });
    log(`recovery: ${action}`);
    let ok = false;
    try {
      const domain = restoreDomainOf(plan, cluster);
      // The history's clock is monotonic; the server's recovery target is wall-clock time.
      const targetTime = plan.restoreToMs === undefined ? undefined : new Date(Date.now() - (performance.now() - timetable.time(plan.restoreToMs)));
      const acting =
        action === 'failover'
          ? engine.failover(cluster)
          : action === 'runbook'
            ? runRunbook(cluster, { ...plan.runbook!, domain, dir: context.dir!, log })
            : engine.restore(cluster, { domain, ...(targetTime ? { targetTime } : {}) });
      // A recovery that does not finish has failed, whatever it was waiting for: never a hang.
      const bound = context.deadlines?.recovery;
      const detail = bound === undefined ? await acting : await withDeadline(acting, { phase: `recovery '${action}'`, ms: bound, awaited: RECOVERY_AWAITS.recovery });
      history.append({ type: 'recovery', phase: 'end', name: action, outcome: 'ok', detail });
      log(`recovery: ${action} done: ${detail}`);
      ok = true;
    } catch (caught) {
      history.append({ type: 'recovery', phase: 'end', name: action, outcome: 'failed', detail: describeError(caught) });
      log(`recovery: ${action} failed: ${describeError(caught)}`);
    }
    // Whatever became primary (a restore that stopped at a hole in the archive still serves), the
    // archive must follow it, or the next restore would miss everything written from now on.
    if (cluster.primary() !== before) await runFollowUp('archive-follow', context, () => engine.followPrimary(cluster));
    if (ok) {
      // The workload goes on a little after a runbook, however long it took: RTO is the first
      // write the recovered cluster acknowledges.
      if (action === 'runbook') await sleep(RUNBOOK_AFTER_MS);
      if (action === 'failover' && plan.rejoin) await runFollowUp('rejoin', context, () => engine.rejoin(cluster));
      return;
    }
  }
}

/** Where a restore (and the restore rehearsal) restores: the recovery's restore domain, else the archive's. */
export function restoreDomainOf(plan: RecoveryPlan, cluster: StartedCluster): string {
  return plan.restoreDomain ?? cluster.archive()?.spec.domain ?? cluster.topology.domains[0]!;
}

/** How long the workload writes to the cluster a runbook recovered before the run ends. */
const RUNBOOK_AFTER_MS = 3_000;

/** A step after recovery (the archive following the new primary, the old primary rejoining): recorded, and the run goes on. */
async function runFollowUp(name: string, { history, log }: RecoveryContext, step: () => Promise<string>): Promise<void> {
  history.append({ type: 'recovery', phase: 'start', name, followUp: true });
  log(`recovery: ${name}`);
  try {
    const detail = await step();
    history.append({ type: 'recovery', phase: 'end', name, outcome: 'ok', detail, followUp: true });
    log(`recovery: ${name} done: ${detail}`);
  } catch (caught) {
    history.append({ type: 'recovery', phase: 'end', name, outcome: 'failed', detail: describeError(caught), followUp: true });
    log(`recovery: ${name} failed: ${describeError(caught)}`);
  }
}

/**
 * The restore rehearsal: once the service is back and the workload has stopped, the current WAL
 * segment is switched and awaited in the archive, then the latest backup and the WAL archive are
 * restored into a scratch node that serves nothing, and what it holds is compared with every write
 * acknowledged before that switch (those the backup must hold). A restore that fails is recorded
 * with its reason; the run goes on.
 */
export async function runRehearsal(plan: RecoveryPlan, { cluster, history, log, deadlines }: RecoveryContext, scratch?: ScratchNode): Promise<FinalState['rehearsal']> {
  // Everything acknowledged so far must be in the archive before the backup is judged by it: the
  // current segment is switched and awaited first. If it never arrives, the rehearsal still runs,
  // and whatever the archive lacks shows up as missing writes.
  const engine = cluster.engine;
  let switched: string;
  try {
    switched = await engine.prepareRehearsal(cluster);
  } catch (caught) {
    switched = `what was acknowledged did not all reach the backups: ${describeError(caught)}`;
  }
  const cutoff = history.now();
  history.append({ type: 'rehearsal', phase: 'start', cutoff, cutoffWhat: engine.rehearsalCutoff, detail: switched });
  log(`restore rehearsal: the latest backup and the WAL archive, into a scratch node (${switched})`);
  try {
    const rehearsing = engine.rehearse(cluster, { domain: restoreDomainOf(plan, cluster), ...(scratch ? { scratch } : {}) });
    const { detail, node, rows } = deadlines ? await withDeadline(rehearsing, { phase: 'the restore rehearsal', ms: deadlines.rehearsal, awaited: RECOVERY_AWAITS.rehearsal }) : await rehearsing;
    // What lost-writes would call lost, among the writes acknowledged before the switch.
    history.flush();
    const { acknowledged, missing } = rehearsalLoss(readHistory(history.path).events, cutoff, rows);
    history.append({ type: 'rehearsal', phase: 'end', outcome: 'ok', detail, cutoff, cutoffWhat: engine.rehearsalCutoff, acknowledged, missing: missing.length, missingKeys: missing.slice(0, 100).map((w) => w.key) });
    log(`restore rehearsal done: ${detail}; it lacks ${missing.length} of the ${acknowledged} writes acknowledged before ${engine.rehearsalCutoff}`);
    return { node, rows };
  } catch (caught) {
    history.append({ type: 'rehearsal', phase: 'end', outcome: 'failed', detail: describeError(caught), cutoff });
    log(`restore rehearsal failed: ${describeError(caught)}`);
    return undefined;
  }
}
