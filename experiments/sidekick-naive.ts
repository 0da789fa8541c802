import { defineExperiment } from '../harness/experiment/definition.ts';
import { recoveryAt, sanUpgrade } from './sidekick-upgrade.ts';

/**
 * The 2009 Sidekick topology: primary data, its replica and the WAL archive all on one SAN, and no
 * fresh backup before the upgrade. The upgrade stalls I/O, writes garbage, then loses the SAN.
 * Failover finds no replica and restore finds no backup: faultline must report the acknowledged
 * writes lost and the restore failed.
 */
export default defineExperiment({
  name: 'sidekick-naive',
  description: 'Sidekick 2009: data, replica and archive on one SAN, no fresh backup; the SAN upgrade goes wrong',
  topology: {
    domains: ['san-a', 'san-b'],
    postgres: {
      nodes: [
        { name: 'pg-primary', role: 'primary', domain: 'san-a' },
        { name: 'pg-replica', role: 'replica', domain: 'san-a' },
        { name: 'pg-archive', role: 'archive', domain: 'san-a' },
      ],
    },
  },
  workload: { clients: 4, duration: '8s' },
  faults: sanUpgrade,
  recovery: { at: recoveryAt, try: ['failover', 'restore'], restoreDomain: 'san-b' },
  expect: { maxLostWrites: 0, restoreMustComplete: true },
  shows: { failing: ['lost-writes', 'restore-completed'], why: 'data, replica and backups on one SAN: losing it loses everything, and nothing can be restored' },
});
