import { defineExperiment } from '../harness/experiment/definition.ts';

/**
 * The same loss as pitr-restore, with pgBackRest instead: a fresh full backup, WAL pushed to the
 * repository by archive_command (over TLS, with archive_timeout 1 s), and the primary's volume
 * lost. The restore completes; but archive_command ships only finished WAL segments, so writes
 * acknowledged since the last one may be lost. The ledger counts them: that is this setup's RPO.
 */
export default defineExperiment({
  name: 'pitr-restore-pgbackrest',
  description: "Lose the primary's volume and restore with pgBackRest: the restore completes; writes since the last archived segment are lost",
  topology: {
    domains: ['san-a', 'san-b', 'backup-site'],
    postgres: {
      backupTool: 'pgbackrest',
      archiveTimeout: '1s',
      nodes: [
        { name: 'pg-primary', role: 'primary', domain: 'san-a' },
        { name: 'pg-archive', role: 'archive', domain: 'backup-site' },
      ],
    },
  },
  // A pgBackRest full backup under this load takes a few seconds (it waits for its WAL to be
  // archived): the loss comes after it has finished.
  workload: { clients: 4, duration: '11s' },
  freshBackupAt: '300ms',
  faults: [{ at: '7s', fault: 'volume-loss', target: 'primary' }],
  recovery: { at: '7500ms', try: ['restore'], restoreDomain: 'san-b' },
  shows: { failing: ['lost-writes'], why: 'archive_command ships only finished WAL segments: writes since the last one may be lost', always: false },
  expect: { maxLostWrites: 0 },
});
