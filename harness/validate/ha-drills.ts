// The drills `faultline validate --patroni-conf` runs: the user's Patroni settings (and their
// server parameters) under the failures an HA manager exists for. faultline performs no failover in
// them: Patroni does, and the run's checks (lost-writes, split-brain, manager-acted,
// failover-choice) are the evidence.

import { patroniSettings, type PostgresTopologySpec } from '../engines/postgres/index.ts';
import type { ValidateDrill } from './drills.ts';

export const HA_DRILL_NAMES = ['ha-san-lost', 'ha-cut-then-san-lost', 'ha-frozen-patroni'];

/** The HA drills on the user's topology under Patroni. */
export function patroniDrills(topology: PostgresTopologySpec, options: { rpoBudgetMs?: number } = {}): ValidateDrill[] {
  const nodes = topology.postgres.nodes;
  const primary = nodes.find((n) => n.role === 'primary')!;
  const replicas = nodes.filter((n) => n.role === 'replica');
  const budget = options.rpoBudgetMs;
  const base = { topology, expect: { maxLostWrites: budget === undefined ? 0 : Number.MAX_SAFE_INTEGER, restoreMustComplete: true, ...(budget !== undefined ? { rpoBudget: budget } : {}) } };
  const { ttl, loopWait, retryTimeout } = patroniSettings(topology.postgres.ha!);
  // The leader key expires at most ttl after the leader's last renewal and a replica takes it on its
  // next loop; under synchronous_mode_strict writes resume only once another replica streams from the
  // new leader again (a restart, about 6 s here, longer on a busy machine). The workload outlasts all
  // of that by seconds of writes, whatever the user's timings: ttl 20, loop_wait 2, retry_timeout 4
  // give 41 s; Patroni's defaults (30, 10, 10) give 65 s.
  const workload = { clients: 4, duration: `${3 + ttl + loopWait + retryTimeout + 12}s`, rate: 500 };
  // A frozen Patroni must stay frozen until a replica has certainly taken the expired key.
  const freeze = ttl + 2 * loopWait + 2;
  const sameDomain = replicas.some((r) => r.domain === primary.domain);
  return [
    {
      name: 'ha-san-lost',
      title: `the primary's whole failure domain ('${primary.domain}') is lost; Patroni fails over`,
      unavailable: sameDomain ? `a replica shares the primary's domain '${primary.domain}': it would be lost with it` : undefined,
      definition: {
        ...base,
        name: 'validate-ha-san-lost',
        description: "The primary's failure domain is lost with everything in it (its etcd member too); Patroni promotes a replica once the leader key expires",
        workload,
        faults: [{ at: '3s', fault: 'domain-loss', target: `domain:${primary.domain}` }],
      },
    },
    {
      name: 'ha-cut-then-san-lost',
      title: "the primary's links to its replicas fail for 2 s under load, then its failure domain is lost; Patroni fails over",
      unavailable: sameDomain ? `a replica shares the primary's domain '${primary.domain}': it would be lost with it` : undefined,
      definition: {
        ...base,
        name: 'validate-ha-cut-then-san-lost',
        description:
          "The primary is cut off from its replicas for 2 s under load (a SAN upgrade's flapping links), and 1 s into the cut its failure domain is lost; Patroni promotes a replica once the leader key expires. Commits that did not wait for a replica during the cut are lost",
        workload,
        faults: [
          ...replicas.map((r) => ({ at: '2s', fault: 'partition', target: `${primary.name}~${r.name}`, duration: '2s', disruptive: false })),
          { at: '3s', fault: 'domain-loss', target: `domain:${primary.domain}` },
        ],
      },
    },
    {
      name: 'ha-frozen-patroni',
      title: "Patroni on the primary hangs (SIGSTOP) past the ttl while its PostgreSQL runs on",
      definition: {
        ...base,
        name: 'validate-ha-frozen-patroni',
        description:
          `Patroni on the primary is frozen for ${freeze} s (ttl + 2 × loop_wait + 2) while its PostgreSQL runs on: the leader key expires and a replica is promoted; writes the old primary acknowledges after the promotion (to sessions HAProxy kept) are lost when Patroni wakes and demotes it`,
        workload,
        faults: [{ at: '2s', fault: 'manager-stop', target: 'primary', duration: `${freeze}s`, params: { how: 'pause' } }],
      },
    },
  ];
}
