import { defineExperiment } from '../harness/experiment/definition.ts';
import pitrRestore from './pitr-restore.ts';

/**
 * pitr-restore with a hole in the WAL archive: a segment written after the fresh backup vanishes
 * from the repository, then the primary's volume is lost. PostgreSQL replays up to the hole, takes
 * it for the end of the archive and promotes as if all were well; faultline sees the WAL the
 * archive holds past the hole, reports the restore as incomplete, and the ledger counts the writes
 * that did not come back. Fails, as it should.
 */
export default defineExperiment({
  ...pitrRestore,
  name: 'archive-gap',
  description: 'A WAL segment vanishes from the archive before the primary is lost: the restore stops at the hole (fails)',
  faults: [
    { at: '2s', fault: 'archive-gap', target: 'archive' },
    { at: '4s', fault: 'volume-loss', target: 'primary' },
  ],
  recovery: { at: '4500ms', try: ['restore'], restoreDomain: 'san-b' },
  shows: { failing: ['lost-writes', 'restore-completed'], why: 'a restore stops at the first hole in the WAL archive' },
});
