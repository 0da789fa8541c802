// The incremental-backup drills (backupTool 'pg_basebackup-incremental', PostgreSQL 17 and later):
// a chain restored intact, a chain with an incremental removed from its middle, and a chain with an
// incremental taken after a failover, restored by the restore rehearsal.
import { defineExperiment } from '../harness/experiment/definition.ts';
import { asPostgres, REPO } from '../harness/engines/postgres/index.ts';
import type { StepContext } from '../harness/experiment/definition.ts';
import { waitFor } from '../harness/wait.ts';

const restoreTopology = (incrementalAfter: string[]) => ({
  domains: ['san-a', 'san-b', 'backup-site'],
  postgres: {
    backupTool: 'pg_basebackup-incremental' as const,
    incrementalAfter,
    nodes: [
      { name: 'pg-primary', role: 'primary' as const, domain: 'san-a' },
      { name: 'pg-archive', role: 'archive' as const, domain: 'backup-site', synchronous: true },
    ],
  },
});

/**
 * Removes the second incremental backup from the repository (as a retention script gone wrong
 * would), once a third exists after it, so that the hole is in the middle of the chain.
 */
async function removeMiddleIncremental({ cluster }: StepContext): Promise<string> {
  const archive = asPostgres(cluster).archive();
  if (!archive || archive.lost) throw new Error('the topology has no archive node (or it was lost): there is no backup chain to remove from');
  const list = `ls -1d ${REPO}/base/*-incr 2>/dev/null | LC_ALL=C sort`;
  const incrementals = await waitFor({ what: `three incremental backups in ${archive.name}:${REPO}/base`, timeoutMs: 20_000, intervalMs: 100 }, async (seen) => {
    const dirs = (await archive.exec(['bash', '-c', list])).stdout.split('\n').filter(Boolean);
    seen(`it holds ${dirs.length}`);
    return dirs.length >= 3 ? dirs : undefined;
  });
  const victim = incrementals[1]!;
  await archive.run(['bash', '-c', `rm -rf '${victim}' && fl-sync ${REPO}/base`], { user: 'root' });
  if ((await archive.exec(['test', '-e', victim])).exitCode === 0) throw new Error(`${victim} is still in the repository after removal`);
  return `removed the second incremental backup ${victim} (of ${incrementals.length}) from the repository on ${archive.name}`;
}

/**
 * A full backup and two incrementals on top of it (WAL summaries on), WAL streamed synchronously
 * to the archive; the primary's volume is lost and a new primary is restored from the chain,
 * combined by pg_combinebackup, plus the archive: nothing acknowledged is lost.
 */
export const incrementalRestore = defineExperiment({
  name: 'incremental-restore',
  description: "Lose the primary's volume and restore from a full + 2 incremental backups (pg_combinebackup) + WAL archive: nothing acknowledged is lost",
  topology: restoreTopology(['800ms', '1600ms']),
  workload: { clients: 4, duration: '9s' },
  freshBackupAt: '500ms',
  faults: [{ at: '4s', fault: 'volume-loss', target: 'primary' }],
  recovery: { at: '4500ms', try: ['restore'], restoreDomain: 'san-b' },
  expect: { maxLostWrites: 0 },
});

/**
 * The same chain with three incrementals, the second of which is removed from the repository
 * before the primary's volume is lost: pg_combinebackup refuses the broken chain, the restore
 * fails with its words and the name of the missing incremental. Fails, as it should.
 */
export const incrementalMissing = defineExperiment({
  name: 'incremental-missing',
  description: 'An incremental in the middle of the backup chain is removed before the primary is lost: the restore fails, naming it',
  topology: restoreTopology(['800ms', '1600ms', '2400ms']),
  workload: { clients: 4, duration: '10s' },
  freshBackupAt: '500ms',
  schedule: [{ at: '4s', name: 'remove-incremental', target: 'archive', run: removeMiddleIncremental }],
  faults: [{ at: '5s', fault: 'volume-loss', target: 'primary' }],
  recovery: { at: '5500ms', try: ['restore'], restoreDomain: 'san-b' },
  shows: { failing: ['lost-writes', 'restore-completed'], why: 'pg_combinebackup cannot combine a chain with an incremental missing: nothing restores' },
  expect: { maxLostWrites: 0 },
});

/**
 * An incremental before a failover (from the primary) and one after it (from the promoted
 * replica, against the first one's manifest, taken as the archive follows it); after the
 * workload, the restore rehearsal restores
 * the chain plus the archive into a scratch node. What PostgreSQL does with an incremental across
 * a promotion (takes it, refuses it, restores stale rows from it) is for the checks to say.
 */
export const incrementalAcrossFailover = defineExperiment({
  name: 'incremental-across-failover',
  description: 'An incremental backup taken after a failover, on top of one from before it: the rehearsal restores the chain and checks every write',
  topology: {
    domains: ['san-a', 'san-b', 'backup-site'],
    postgres: {
      backupTool: 'pg_basebackup-incremental',
      incrementalAfter: ['1s'],
      nodes: [
        { name: 'pg-primary', role: 'primary', domain: 'san-a' },
        { name: 'pg-replica', role: 'replica', domain: 'san-b', synchronous: true },
        { name: 'pg-archive', role: 'archive', domain: 'backup-site' },
      ],
    },
  },
  workload: { clients: 4, duration: '8s' },
  freshBackupAt: '500ms',
  faults: [{ at: '3s', fault: 'process-crash', target: 'primary', params: { restart: 'no' } }],
  recovery: { at: '3500ms', try: ['failover'], rehearseRestore: true, restoreDomain: 'san-b' },
  expect: { maxLostWrites: 0 },
});

export const incrementalExperiments = [incrementalRestore, incrementalMissing, incrementalAcrossFailover];
