import { defineExperiment } from '../harness/experiment/definition.ts';
import { defaultTopology } from '../harness/engines/postgres/index.ts';

/**
 * A SAN controller failover pauses I/O on the primary's volume for 3 s under load. Writes stall
 * and resume; PostgreSQL must not lose or invent anything, and service comes back by itself.
 */
export default defineExperiment({
  name: 'io-stall',
  description: "A 3 s I/O stall on the primary's volume under load: writes pause and resume, none is lost",
  topology: defaultTopology,
  workload: { clients: 4, duration: '8s' },
  faults: [{ at: '3s', fault: 'io-stall', target: 'primary', duration: '3s' }],
  expect: { maxLostWrites: 0, rtoBudget: '10s' },
});
