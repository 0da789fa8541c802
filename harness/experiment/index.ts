// Experiments: definition, runner, result, and re-checking a run from its files.
export { defineExperiment, prepareExperiment, type ExperimentDefinition, type ScheduledStep, type StepContext } from './definition.ts';
export { runExperiment, type RunOptions } from './runner.ts';
export { buildResult, type ExperimentResult } from '../report/result.ts';
export { recheckRun, type Recheck } from '../report/recheck.ts';
export { createRunDir, resolveRunDir } from '../report/run-dir.ts';
export { planFaults, type FaultSpec, type FaultStepSpec, type RandomFaultsSpec, type PlannedFault } from './schedule.ts';
