// The cluster a Patroni drill runs when the user names no topology: three servers, each in a failure
// domain of its own, with Patroni and an etcd member beside each (as the HA manager's documentation
// deploys it: an odd number of DCS members on the database hosts).

import type { PostgresTopologySpec } from '../topology.ts';

type Section = PostgresTopologySpec['postgres'];

/** A primary and two replicas in domains san-a, san-b and san-c, under Patroni with these settings. */
export function patroniTopology(ha: Partial<NonNullable<Section['ha']>> = {}, extra: Partial<Section> = {}): PostgresTopologySpec {
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
