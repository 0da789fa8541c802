import { defineExperiment, type ExperimentDefinition } from '../harness/experiment/definition.ts';

/**
 * The replica is cut off from the primary for a while (writes go on), then the primary's host
 * dies and the replica is promoted; the old primary is then rewound and rejoins as a replica.
 * Asynchronous: what the replica never got is lost. Synchronous: those writes were never
 * acknowledged, so nothing acknowledged is lost. Either way the rejoined node must end up with
 * exactly the new primary's rows.
 */
function failoverDrill(synchronous: boolean): ExperimentDefinition {
  return defineExperiment({
    name: synchronous ? 'sync-failover' : 'async-failover',
    description: synchronous
      ? 'Promote a synchronous replica after the primary dies: nothing acknowledged is lost'
      : 'Promote an asynchronous replica that fell behind, after the primary dies: the ledger counts what is lost',
    topology: {
      domains: ['san-a', 'san-b'],
      postgres: {
        nodes: [
          { name: 'pg-primary', role: 'primary', domain: 'san-a' },
          { name: 'pg-replica', role: 'replica', domain: 'san-b', synchronous },
        ],
      },
    },
    workload: { clients: 4, duration: '7s' },
    faults: [
      { at: '1500ms', fault: 'partition', target: 'primary~replica', duration: '3s', disruptive: synchronous },
      { at: '3s', fault: 'process-crash', target: 'primary', params: { restart: 'no' } },
    ],
    recovery: { at: '3500ms', try: ['failover'], rejoin: true },
    expect: { maxLostWrites: 0 },
    ...(synchronous ? {} : { shows: { failing: ['lost-writes'], why: 'an asynchronous replica lacks what it had not received when the primary died' } }),
  });
}

export const asyncFailover = failoverDrill(false);
export const syncFailover = failoverDrill(true);
