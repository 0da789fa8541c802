// Barman as the backup tool (backupTool 'barman'): a Barman server on the archive node backs up the
// primary (backup_method postgres) and receives its WAL with receive-wal, synchronously; restores
// are `barman recover` plus the WAL Barman holds, the segment receive-wal was writing included.
import { defineExperiment } from '../harness/experiment/definition.ts';
import { archiveCurrentSegment, asPostgres } from '../harness/engines/postgres/index.ts';

const topology = {
  domains: ['san-a', 'san-b', 'backup-site'],
  postgres: {
    backupTool: 'barman' as const,
    nodes: [
      { name: 'pg-primary', role: 'primary' as const, domain: 'san-a' },
      { name: 'pg-archive', role: 'archive' as const, domain: 'backup-site', synchronous: true },
    ],
  },
};

/**
 * A Barman backup (`barman backup --wait`), WAL streamed synchronously by `barman receive-wal`;
 * the primary's volume is lost and a new primary is restored with `barman recover` and the WAL
 * Barman holds (its .partial segment included): nothing acknowledged is lost.
 */
export const barmanRestore = defineExperiment({
  name: 'barman-restore',
  description: "Lose the primary's volume and restore with barman recover + Barman's synchronously streamed WAL: nothing acknowledged is lost",
  topology,
  workload: { clients: 4, duration: '8s' },
  freshBackupAt: '500ms',
  faults: [{ at: '3s', fault: 'volume-loss', target: 'primary' }],
  recovery: { at: '3500ms', try: ['restore'], restoreDomain: 'san-b' },
  expect: { maxLostWrites: 0 },
});

/**
 * The Barman host loses power right after a WAL segment reached Barman's archive (a switch on the
 * primary, waited for in Barman's wals directory): whatever Barman had not fsynced is gone, its
 * processes die, and `barman cron` starts receive-wal again. Then the primary's volume is lost and
 * it is restored with `barman recover`. What survived the power loss is what the checks report.
 */
export const barmanArchivePowerLoss = defineExperiment({
  name: 'barman-archive-power-loss',
  description: 'The Barman host loses power right after WAL was archived, then the primary is lost and restored with barman recover: what survived is measured',
  topology,
  workload: { clients: 4, duration: '10s' },
  freshBackupAt: '500ms',
  schedule: [
    {
      at: '2s',
      name: 'archive-switch',
      target: 'archive',
      run: async ({ cluster }) => {
        const switched = await archiveCurrentSegment(asPostgres(cluster), 20_000);
        return `WAL segment ${switched.segment} switched on the primary and in Barman's archive after ${switched.waitedMs} ms`;
      },
    },
  ],
  faults: [
    { at: '4s', fault: 'power-loss', target: 'archive', duration: '500ms' },
    { at: '6s', fault: 'volume-loss', target: 'primary' },
  ],
  recovery: { at: '6500ms', try: ['restore'], restoreDomain: 'san-b' },
  expect: { maxLostWrites: 0 },
});

/**
 * The same restore with WAL also pushed by the primary's archive_command, barman-wal-archive over
 * SSH to the Barman host (as 'barman', under the host name the command uses), beside the synchronous
 * stream: Barman archives both, and barman recover restores with nothing acknowledged lost.
 */
export const barmanWalArchiveRestore = defineExperiment({
  name: 'barman-wal-archive-restore',
  description: "barman-wal-archive in archive_command plus Barman's synchronous stream; the primary's volume is lost and barman recover restores it: nothing acknowledged is lost",
  topology: {
    ...topology,
    postgres: { ...topology.postgres, settings: { archive_mode: 'on', archive_command: 'barman-wal-archive backup-host pg %p' } },
  },
  workload: { clients: 4, duration: '8s' },
  freshBackupAt: '500ms',
  faults: [{ at: '3s', fault: 'volume-loss', target: 'primary' }],
  recovery: { at: '3500ms', try: ['restore'], restoreDomain: 'san-b' },
  expect: { maxLostWrites: 0 },
});

export const barmanExperiments = [barmanRestore, barmanArchivePowerLoss, barmanWalArchiveRestore];
