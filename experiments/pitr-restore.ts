import { defineExperiment } from '../harness/experiment/definition.ts';

/**
 * The primary's volume is lost; a new primary is restored on another SAN from the latest base
 * backup plus the WAL archive (streamed synchronously), so nothing acknowledged before the loss
 * is lost.
 */
export default defineExperiment({
  name: 'pitr-restore',
  description: "Lose the primary's volume and restore from base backup + WAL archive: nothing acknowledged is lost",
  topology: {
    domains: ['san-a', 'san-b', 'backup-site'],
    postgres: {
      nodes: [
        { name: 'pg-primary', role: 'primary', domain: 'san-a' },
        { name: 'pg-archive', role: 'archive', domain: 'backup-site', synchronous: true },
      ],
    },
  },
  workload: { clients: 4, duration: '8s' },
  freshBackupAt: '500ms',
  faults: [{ at: '3s', fault: 'volume-loss', target: 'primary' }],
  recovery: { at: '3500ms', try: ['restore'], restoreDomain: 'san-b' },
  expect: { maxLostWrites: 0 },
});
