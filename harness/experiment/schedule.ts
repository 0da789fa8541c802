// The fault schedule: at time t inject fault f on target x for duration d, or draw faults at random
// from a set. Planning is a pure function of the specs, the topology and the seed: the same seed
// gives the same schedule, so any run can be replayed exactly. Everything is checked up front.

import { ConfigError } from '../errors.ts';
import type { Topology } from '../cluster/topology.ts';
import { engineFor } from '../engines/registry.ts';
import { checkTarget, faults, findFault, type Fault, type ParamValues } from '../faults/index.ts';
import { seededRandom } from '../random.ts';
import { parseDuration, parseSize } from '../units.ts';

/** One fault at a fixed time. */
export interface FaultStepSpec {
  /** From the start of the workload, e.g. '3s'. */
  at: string | number;
  fault: string;
  /** A node ('pg-primary'), a role ('primary'), 'domain:<name>' or a link 'A~B'. */
  target: string;
  /** How long until it is healed (faults that can be healed). Default 3 s. */
  duration?: string | number;
  params?: ParamValues;
  /** Overrides whether it counts as disruptive for RTO (e.g. a partition under synchronous replication). */
  disruptive?: boolean;
  /**
   * The run may pass even if this fault is skipped (the kernel lacks it) or has no effect. By
   * default every fault must take effect: a run that did not test what it claims cannot pass.
   */
  optional?: boolean;
}

/** `count` faults drawn with the run's seed: each a fault and a target from the lists, at a time in [from, to]. */
export interface RandomFaultsSpec {
  random: {
    faults: string[];
    targets: string[];
    count: number;
    from?: string | number;
    to?: string | number;
    duration?: string | number;
    /** Every drawn fault may be skipped or have no effect (see FaultStepSpec.optional). */
    optional?: boolean;
  };
}

export type FaultSpec = FaultStepSpec | RandomFaultsSpec;

export interface PlannedFault {
  atMs: number;
  fault: string;
  target: string;
  durationMs: number;
  params: ParamValues;
  disruptive: boolean;
  optional: boolean;
}

const DEFAULT_FAULT_MS = 3000;

function ms(value: string | number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const parsed = parseDuration(value);
  if (parsed === undefined) throw new ConfigError(`${what} must be a duration like '500ms', '3s' or '1m': got ${JSON.stringify(value)}`);
  return parsed;
}

function known(name: string, where: string): Fault {
  const fault = findFault(name);
  if (!fault) throw new ConfigError(`${where}: unknown fault '${name}'. Known faults: ${faults.map((f) => f.name).join(', ')} ('faultline faults' describes them)`);
  return fault;
}

function checkParams(fault: Fault, params: ParamValues | undefined, where: string): ParamValues {
  const values: ParamValues = {};
  for (const [name, spec] of Object.entries(fault.params)) if (spec.default !== undefined) values[name] = spec.default;
  for (const [name, value] of Object.entries(params ?? {})) {
    const spec = fault.params[name];
    if (!spec) {
      const names = Object.keys(fault.params);
      throw new ConfigError(`${where}: fault '${fault.name}' has no parameter '${name}'${names.length ? ` (it has: ${names.join(', ')})` : ' (it takes none)'}`);
    }
    const bad = (expected: string) => new ConfigError(`${where}: parameter '${name}' of '${fault.name}' must be ${expected}: got ${JSON.stringify(value)}`);
    if (spec.kind === 'duration' && parseDuration(value) === undefined) throw bad("a duration like '100ms'");
    if (spec.kind === 'size' && parseSize(value) === undefined) throw bad("a size like '64M'");
    if (spec.kind === 'number' && !(Number.isInteger(Number(value)) && Number(value) > 0)) throw bad('a whole number above 0');
    if (spec.kind === 'choice' && !spec.choices?.includes(String(value))) throw bad(`one of ${spec.choices?.join(', ')}`);
    if (spec.kind === 'fraction' && !(typeof value === 'number' && value >= 0 && value <= 1)) throw bad('a number from 0 to 1, e.g. 0.1');
    if (spec.kind === 'text' && (typeof value !== 'string' || value === '' || /\s/.test(value))) throw bad('a non-empty string without spaces');
    values[name] = value;
  }
  return values;
}

function checkEngineParams(fault: Fault, topology: Topology, params: ParamValues, where: string): ParamValues {
  const wrong = fault.check?.(topology, params, engineFor(topology));
  if (wrong) throw new ConfigError(`${where}: fault '${fault.name}': ${wrong}`);
  return params;
}

function plannedStep(step: FaultStepSpec, topology: Topology, workloadMs: number, where: string): PlannedFault {
  const fault = known(step.fault, where);
  const atMs = ms(step.at, NaN, `${where}.at`);
  if (step.optional !== undefined && typeof step.optional !== 'boolean') throw new ConfigError(`${where}.optional must be true or false, got ${JSON.stringify(step.optional)}`);
  if (atMs > workloadMs) throw new ConfigError(`${where}: '${step.fault}' at ${atMs} ms is after the workload ends (${workloadMs} ms)`);
  return {
    atMs,
    fault: fault.name,
    target: checkTarget(fault, topology, step.target, where),
    durationMs: ms(step.duration, DEFAULT_FAULT_MS, `${where}.duration`),
    params: checkEngineParams(fault, topology, checkParams(fault, step.params, where), where),
    disruptive: step.disruptive ?? fault.disruptive,
    optional: step.optional === true,
  };
}

/**
 * Turns fault specs into the run's schedule, sorted by time. Throws ConfigError for an unknown
 * fault, a target that does not exist or that the fault cannot take, a bad duration or parameter.
 */
export function planFaults(specs: readonly FaultSpec[], topology: Topology, seed: number, workloadMs: number, where = 'faults'): PlannedFault[] {
  const random = seededRandom(seed ^ 0x5eed);
  const planned = specs.flatMap((spec, index): PlannedFault[] => {
    const at = `${where}[${index}]`;
    if (!('random' in spec)) return [plannedStep(spec, topology, workloadMs, at)];
    const r = spec.random;
    if (!Array.isArray(r.faults) || r.faults.length === 0) throw new ConfigError(`${at}.random.faults must list at least one fault`);
    if (!Array.isArray(r.targets) || r.targets.length === 0) throw new ConfigError(`${at}.random.targets must list at least one target`);
    if (!Number.isInteger(r.count) || r.count < 1 || r.count > 1000) throw new ConfigError(`${at}.random.count must be a whole number from 1 to 1000, got ${JSON.stringify(r.count)}`);
    const from = ms(r.from, 0, `${at}.random.from`);
    const to = ms(r.to, workloadMs, `${at}.random.to`);
    if (to < from || to > workloadMs) throw new ConfigError(`${at}.random: 'to' (${to} ms) must be between 'from' (${from} ms) and the workload's end (${workloadMs} ms)`);
    // Every combination is checked, so a bad pair fails now and not only on the seed that draws it.
    for (const name of r.faults) for (const target of r.targets) checkTarget(known(name, at), topology, target, at);
    return Array.from({ length: r.count }, () => {
      const fault = r.faults[Math.floor(random() * r.faults.length)]!;
      const target = r.targets[Math.floor(random() * r.targets.length)]!;
      return plannedStep({ at: Math.round(from + random() * (to - from)), fault, target, duration: r.duration, ...(r.optional !== undefined ? { optional: r.optional } : {}) }, topology, workloadMs, at);
    });
  });
  return planned.sort((a, b) => a.atMs - b.atMs);
}
