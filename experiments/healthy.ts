import { defineExperiment } from '../harness/experiment/definition.ts';
import { defaultTopology } from '../harness/engines/postgres/index.ts';

/** The baseline: no faults at all. If this loses a write or reports an anomaly, faultline is wrong. */
export default defineExperiment({
  name: 'healthy',
  description: 'No faults: 10 s of writes on primary, replica and archive in three domains; nothing may be lost',
  topology: defaultTopology,
  workload: { clients: 4, duration: '10s' },
  expect: { maxLostWrites: 0 },
});
