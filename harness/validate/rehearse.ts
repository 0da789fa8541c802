// `faultline rehearse`: a scenario from the validate drills (by default the loss of the primary's
// failure domain under load), with the user's runbook as the recovery instead of faultline's own.
// The run's checks then judge the runbook: restore completed, acknowledged writes lost, RTO against
// the budget, integrity.

import { ConfigError } from '../errors.ts';
import { runExperiment, type ExperimentDefinition, type ExperimentResult } from '../experiment/index.ts';
import { loadUserConfig, type UserConfigFiles } from './user-config.ts';
import { validateDrills } from './drills.ts';
import { didYouMean } from '../schema.ts';

export interface RehearseOptions extends UserConfigFiles {
  /** A shell command line: the user's runbook. */
  runbook: string;
  /** A validate drill with a recovery; default 'domain-loss'. */
  scenario?: string;
  /** RTO budget; also the runbook's time limit (default 10 min, not judged). */
  rtoBudgetMs?: number;
  /**
   * When given, lost writes pass if the data they take is within this window (a restore from
   * archived WAL loses its last segment), counted from the last write that survived before them to
   * the latest lost one: one lost write is never a 0 ms loss (checkers/rpo-rto.ts). Default: none
   * may be lost.
   */
  rpoBudgetMs?: number;
  seed?: number;
  outDir?: string;
  log?: (line: string) => void;
}

export const DEFAULT_SCENARIO = 'domain-loss';

/** The scenarios a runbook can be rehearsed on: the validate drills that end in a recovery. */
export function rehearseScenarios(files: UserConfigFiles = {}): string[] {
  return validateDrills(loadUserConfig(files).spec)
    .filter((d) => d.definition.recovery?.try.length)
    .map((d) => d.name);
}

/** The experiment a rehearsal runs: the scenario's faults, the runbook as its only recovery. */
export function rehearsalDefinition(options: RehearseOptions): ExperimentDefinition {
  if (!options.runbook.trim()) throw new ConfigError("--runbook needs a command, e.g. --runbook './runbooks/restore.sh'");
  const { spec } = loadUserConfig(options);
  const drills = validateDrills(spec).filter((d) => d.definition.recovery?.try.length);
  const name = options.scenario ?? DEFAULT_SCENARIO;
  const drill = drills.find((d) => d.name === name);
  if (!drill) {
    const guess = didYouMean(name, drills.map((d) => d.name));
    throw new ConfigError(`--scenario '${name}' is not a scenario${guess ? ` (did you mean '${guess}'?)` : ''}: use ${drills.map((d) => d.name).join(', ')}`);
  }
  if (drill.unavailable) throw new ConfigError(`--scenario '${name}' cannot run on this topology: ${drill.unavailable}`);
  const recovery = drill.definition.recovery!;
  return {
    ...drill.definition,
    name: `rehearse-${drill.name}`,
    description: `${drill.title}; your runbook recovers`,
    recovery: {
      at: recovery.at,
      try: ['runbook'],
      runbook: { command: options.runbook, ...(options.rtoBudgetMs !== undefined ? { budget: options.rtoBudgetMs } : {}) },
      ...(recovery.restoreDomain ? { restoreDomain: recovery.restoreDomain } : {}),
    },
    expect: {
      // With an RPO budget, the loss window is judged instead of the number of lost writes.
      maxLostWrites: options.rpoBudgetMs === undefined ? 0 : Number.MAX_SAFE_INTEGER,
      restoreMustComplete: true,
      ...(options.rtoBudgetMs !== undefined ? { rtoBudget: options.rtoBudgetMs } : {}),
      ...(options.rpoBudgetMs !== undefined ? { rpoBudget: options.rpoBudgetMs } : {}),
    },
  };
}

export async function rehearse(options: RehearseOptions): Promise<ExperimentResult> {
  const definition = rehearsalDefinition(options);
  return runExperiment(definition, { ...(options.seed !== undefined ? { seed: options.seed } : {}), ...(options.outDir ? { outDir: options.outDir } : {}), ...(options.log ? { log: options.log } : {}) });
}
