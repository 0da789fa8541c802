// The nemesis of a run: each planned fault injected at its time on what its target means then,
// proven in effect (or said to have had none) and healed after its duration; and the experiment's
// own scheduled steps. Each is recorded in the history as it happens.

import { describeError } from '../errors.ts';
import { FaultUnavailable, findFault, namesRole, resolveTarget } from '../faults/index.ts';
import { seededRandom } from '../random.ts';
import { sleep } from '../wait.ts';
import type { Experiment, StepContext } from './definition.ts';
import type { PlannedFault } from './schedule.ts';
import type { FaultOrder, Timetable } from './timetable.ts';

/**
 * Injects one planned fault at its time, on the node that has its target role then, and heals it
 * after its duration. Records start, active (in effect, or why it had no effect) and end.
 */
export async function runFault(
  planned: PlannedFault,
  id: string,
  context: StepContext,
  seed: number,
  timetable: Timetable,
  heals: Map<string, () => Promise<unknown>>,
  onError: (error: string) => void,
  { begin, end, healing }: FaultOrder,
): Promise<void> {
  const fault = findFault(planned.fault)!;
  const { history, log, cluster } = context;
  await timetable.until(planned.atMs);
  let target;
  let waitedMs = 0;
  try {
    if (namesRole(planned.target)) {
      const settledMs = await timetable.rolesSettled(planned.atMs);
      if (settledMs > 0) log(`fault ${fault.name} on ${planned.target} begins ${settledMs} ms late: it waited for the recovery scheduled before it to end, so that '${planned.target}' means what the recovery made of it`);
    }
    target = resolveTarget(cluster, planned.target);
    waitedMs = await begin(target.kind === 'node' ? [target.node.name] : target.kind === 'domain' ? target.nodes.map((n) => n.name) : []);
    if (waitedMs > 0) log(`fault ${fault.name} on ${target.label} begins ${waitedMs} ms late: an earlier fault was still acting on (or healing) the same node(s)`);
    // The node may have changed role or been lost while it waited.
    if (waitedMs > 0) target = resolveTarget(cluster, planned.target);
  } catch (caught) {
    const base = { type: 'fault' as const, id, name: fault.name, target: planned.target };
    history.append({ ...base, phase: 'start', disruptive: planned.disruptive, ...(planned.optional ? { optional: true } : {}) });
    history.append({ ...base, phase: 'end', failed: `no target: ${describeError(caught)}`, detail: `failed: no target: ${describeError(caught)}` });
    log(`fault ${fault.name} on ${planned.target} not injected: ${describeError(caught)}`);
    if (!planned.optional) onError(`fault '${fault.name}' on ${planned.target}: no target: ${describeError(caught)}`);
    return;
  }
  const base = { type: 'fault' as const, id, name: fault.name, target: target.label };
  const spec = target.label !== planned.target ? { spec: planned.target } : {};
  history.append({ ...base, ...spec, phase: 'start', disruptive: planned.disruptive, ...(planned.optional ? { optional: true } : {}) });
  log(`fault ${fault.name} on ${target.label}${fault.healable ? ` for ${planned.durationMs / 1000} s` : ''}`);
  let injected;
  try {
    injected = await fault.inject({ cluster, random: seededRandom(seed + planned.atMs), log }, target, planned.params);
  } catch (caught) {
    if (caught instanceof FaultUnavailable) {
      history.append({ ...base, phase: 'end', skipped: caught.message });
      log(`fault ${fault.name} skipped: ${caught.message}`);
      return;
    }
    const detail = `failed: ${describeError(caught)}`;
    history.append({ ...base, phase: 'end', detail, failed: describeError(caught) });
    onError(`fault '${fault.name}' on ${target.label} ${detail}`);
    return;
  }
  end(); // it has acted: a later fault on the same node may begin (a heal comes later, on its own)
  if (waitedMs > 0) injected = { ...injected, detail: `${injected.detail} (began ${waitedMs} ms after its time: an earlier fault was still acting on or healing the same node(s))` };
  const noEffect = injected.noEffect ? { noEffect: injected.noEffect } : {};
  history.append({ ...base, phase: 'active', detail: injected.detail, ...noEffect, ...(injected.caveat ? { caveat: injected.caveat } : {}) });
  if (injected.noEffect) log(`fault ${fault.name} on ${target.label} had no effect: ${injected.noEffect}`);
  const heal = injected.heal;
  if (!fault.healable || !heal) {
    history.append({ ...base, phase: 'end', detail: injected.detail, ...noEffect });
    return;
  }
  const key = `${fault.name}@${target.label}@${planned.atMs}`;
  heals.set(key, heal);
  await sleep(planned.durationMs);
  heals.delete(key);
  const healOver = healing();
  try {
    const healed = await heal();
    const said = typeof healed === 'object' ? healed : { detail: healed ?? 'done' };
    const lateNoEffect = said.noEffect && !injected.noEffect ? { noEffect: said.noEffect } : noEffect;
    history.append({ ...base, phase: 'end', detail: `${injected.detail}; healed: ${said.detail}`, ...lateNoEffect });
    if (said.noEffect) log(`fault ${fault.name} on ${target.label} had no effect: ${said.noEffect}`);
    log(`fault ${fault.name} on ${target.label} healed`);
  } catch (caught) {
    const detail = `${injected.detail}; heal failed: ${describeError(caught)}`;
    history.append({ ...base, phase: 'end', detail, ...noEffect });
    onError(`fault '${fault.name}' on ${target.label}: heal failed: ${describeError(caught)}`);
  } finally {
    healOver();
  }
}

/** Runs the scheduled steps at their times, recording each as a nemesis event. */
export async function runSchedule(
  experiment: Experiment,
  context: StepContext,
  timetable: Timetable,
  onError: (error: string) => void,
): Promise<void> {
  for (const [index, step] of experiment.schedule.entries()) {
    await timetable.until(step.atMs);
    const target = step.target ?? 'cluster';
    const base = { type: 'fault' as const, id: `s${index}`, name: step.name, target };
    context.history.append({ ...base, phase: 'start', disruptive: step.disruptive ?? false });
    context.log(`${experiment.definition.name}: ${step.name} on ${target}`);
    try {
      const detail = await step.run(context);
      context.history.append({ ...base, phase: 'active', ...(detail ? { detail } : {}) });
      context.history.append({ ...base, phase: 'end', ...(detail ? { detail } : {}) });
    } catch (error) {
      const detail = `failed: ${describeError(error)}`;
      context.history.append({ ...base, phase: 'end', detail, failed: describeError(error) });
      onError(`step '${step.name}' ${detail}`);
    }
  }
}
