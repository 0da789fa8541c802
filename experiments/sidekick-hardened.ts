import { defineExperiment } from '../harness/experiment/definition.ts';
import type { PostgresTopologySpec } from '../harness/engines/postgres/index.ts';
import { recoveryAt, sanUpgrade } from './sidekick-upgrade.ts';

/**
 * The same SAN upgrade, done safely: a fresh base backup first, a synchronous replica on another
 * SAN, the archive on a third site. Losing the SAN costs a failover and nothing else.
 */
/** A synchronous replica on another SAN, the archive on a third site: the setup Sidekick lacked. */
export const hardenedTopology: PostgresTopologySpec = {
  domains: ['san-a', 'san-b', 'backup-site'],
  postgres: {
    nodes: [
      { name: 'pg-primary', role: 'primary', domain: 'san-a' },
      { name: 'pg-replica', role: 'replica', domain: 'san-b', synchronous: true },
      { name: 'pg-archive', role: 'archive', domain: 'backup-site' },
    ],
  },
};

export default defineExperiment({
  name: 'sidekick-hardened',
  description: 'The same upgrade with a fresh backup, a synchronous replica on another SAN and the archive off-site',
  topology: hardenedTopology,
  workload: { clients: 4, duration: '8s' },
  freshBackupAt: '500ms',
  faults: sanUpgrade,
  recovery: { at: recoveryAt, try: ['failover', 'restore'], restoreDomain: 'backup-site', rehearseRestore: true },
  expect: { maxLostWrites: 0, restoreMustComplete: true },
});
