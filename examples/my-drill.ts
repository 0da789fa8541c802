// An experiment of your own, type-checked against faultline's declarations (strict TypeScript,
// module nodenext). Run it with `npx faultline run ./my-drill.ts` (its default export), or with
// runExperiment(myDrill) from a test or a script.
import { defineExperiment, defaultTopology, type ExperimentDefinition, type ExperimentResult } from 'faultline';

export const myDrill: ExperimentDefinition = defineExperiment({
  name: 'my-drill',
  description: 'a short I/O stall on the primary under load',
  topology: defaultTopology,
  workload: { clients: 2, duration: '2s' },
  faults: [{ at: '1s', fault: 'io-stall', target: 'primary', duration: '500ms' }],
  expect: { maxLostWrites: 0 },
});

export function lost(result: ExperimentResult): number | null {
  return result.writes.lost;
}

export default myDrill;

/** Never called: the declarations are real types, not `any`, so a misspelt option does not compile. */
export function misspelt(): void {
  // @ts-expect-error 'clientz' is not a workload option
  defineExperiment({ name: 'x', description: 'x', topology: defaultTopology, workload: { clientz: 2 } });
}
