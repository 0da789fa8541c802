// The cluster a Sentinel drill runs when the user names no topology: a primary and two replicas, each
// in a failure domain of its own, with a Sentinel beside each (an odd number of Sentinels, on the
// servers' hosts, as Redis's documentation deploys them).

import type { RedisTopologySpec } from '../topology.ts';

type Section = RedisTopologySpec['redis'];

/** A primary and two replicas in domains san-a, san-b and san-c, under Sentinel, with these settings. */
export function sentinelTopology(extra: Partial<Section> = {}): RedisTopologySpec {
  return {
    domains: ['san-a', 'san-b', 'san-c'],
    redis: {
      ha: { manager: 'sentinel' },
      ...extra,
      nodes: [
        { name: 'redis-primary', role: 'primary', domain: 'san-a' },
        { name: 'redis-replica-a', role: 'replica', domain: 'san-b' },
        { name: 'redis-replica-b', role: 'replica', domain: 'san-c' },
      ],
    },
  };
}
