// PostgreSQL under its own HA manager, Patroni: Patroni and an etcd member beside each of three
// servers, clients that write through HAProxy (which asks each member's REST API which one is the
// leader), and faultline performing no failover: it watches what Patroni does, and the checks say
// what it cost.

import { defineExperiment } from '../harness/experiment/definition.ts';
import type { PostgresTopologySpec } from '../harness/engines/postgres/index.ts';

type PostgresSection = PostgresTopologySpec['postgres'];
type Ha = NonNullable<PostgresSection['ha']>;

/** A primary and two replicas, each in a failure domain of its own, with Patroni and etcd beside each. */
export function patroniTopology(ha: Partial<Ha> = {}, extra: Partial<PostgresSection> = {}): PostgresTopologySpec {
  return {
    domains: ['san-a', 'san-b', 'san-c'],
    postgres: {
      ha: { manager: 'patroni', ...ha },
      ...extra,
      nodes: [
        { name: 'pg-a', role: 'primary', domain: 'san-a' },
        { name: 'pg-b', role: 'replica', domain: 'san-b' },
        { name: 'pg-c', role: 'replica', domain: 'san-c' },
      ],
    },
  };
}

export const patroniHealthy = defineExperiment({
  name: 'patroni-healthy',
  description: 'PostgreSQL under Patroni with etcd, clients through HAProxy, no fault: every acknowledged write is there, and Patroni changes nothing',
  topology: patroniTopology(),
  workload: { clients: 4, duration: '4s', rate: 1000 },
  expect: { maxLostWrites: 0 },
});

export const patroniExperiments = [patroniHealthy];
