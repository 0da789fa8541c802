import { defineExperiment } from '../harness/experiment/definition.ts';
import { defaultTopology } from '../harness/engines/postgres/index.ts';

// Single storage faults on the primary, with honest expectations: what PostgreSQL survives on its
// own (a full disk) passes; what it cannot see (an old snapshot, garbage in its files) fails.

/** The volume comes back as it was 3 s ago: checksums pass, acknowledged writes are gone. Fails. */
export const staleSnapshot = defineExperiment({
  name: 'stale-snapshot',
  description: "The primary's LUN is rolled back to a 3 s old snapshot: checksums pass, acknowledged writes vanish (fails)",
  topology: defaultTopology,
  workload: { clients: 4, duration: '7s' },
  faults: [{ at: '2s', fault: 'stale-snapshot', target: 'primary', duration: '3s' }],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['lost-writes'], why: 'checksums pass on an old snapshot; only the ledger sees the writes it lacks' },
});

/** Garbage in table blocks: data checksums and pg_amcheck catch it. Fails on integrity. */
export const silentCorruption = defineExperiment({
  name: 'silent-corruption',
  description: "Garbage written into the primary's table blocks: checksums and pg_amcheck must catch it (fails)",
  topology: defaultTopology,
  workload: { clients: 4, duration: '6s' },
  faults: [{ at: '3s', fault: 'silent-corruption', target: 'primary', params: { kind: 'heap' } }],
  expect: { maxLostWrites: 0 },
  shows: { failing: ['integrity'], why: 'garbage in table blocks: data checksums and pg_amcheck find it' },
});

/** The thin pool runs out for 3 s: writes fail, none acknowledged is lost, service returns. */
export const diskFull = defineExperiment({
  name: 'disk-full',
  description: "The primary's volume fills up for 3 s: writes fail cleanly, none acknowledged is lost",
  topology: defaultTopology,
  workload: { clients: 4, duration: '8s' },
  faults: [{ at: '2s', fault: 'disk-full', target: 'primary', duration: '3s' }],
  expect: { maxLostWrites: 0 },
});
