import type { Checker } from './types.ts';

/**
 * Archive continuity: after the run (and after any failover or restore), the backup repository
 * holds the WAL of the final primary's timeline without a hole, up to a segment switched at the
 * end of the run. An archive that stopped following the primary, lost a segment, or was itself
 * lost fails: a restore from it could not bring back the end of the run. Segments the newest base
 * backup holds in its own pg_wal are no hole (a restore of it reads them there). Skipped when the
 * topology has no archive.
 */
export const archiveContinuityChecker: Checker = ({ final }) => {
  if (!final) return { name: 'archive-continuity', valid: 'unknown', summary: 'the final state could not be read', details: {} };
  const archive = final.archive;
  if (!archive) return { name: 'archive-continuity', valid: 'skipped', summary: 'the topology has no archive', details: {} };
  const details = { ...archive };
  if (archive.error) return { name: 'archive-continuity', valid: false, summary: `the archive on ${archive.node} does not hold the end of the run: ${archive.error}`, details };
  if (!archive.through || !archive.missing) return { name: 'archive-continuity', valid: 'unknown', summary: `the archive on ${archive.node} could not be read`, details };
  if (archive.missing.length > 0) {
    const shown = archive.missing.length > 4 ? `${archive.missing.slice(0, 3).join(', ')} … ${archive.missing.at(-1)} (${archive.missing.length})` : archive.missing.join(', ');
    return {
      name: 'archive-continuity',
      valid: false,
      summary: `the archive on ${archive.node} has a hole on timeline ${archive.timeline}: ${shown} missing between ${archive.from} and ${archive.through}`,
      details,
    };
  }
  return {
    name: 'archive-continuity',
    valid: true,
    summary: `the archive on ${archive.node} holds every WAL segment of timeline ${archive.timeline}'s history from ${archive.from} through ${archive.through}, the end of the run${
      archive.inBackup ? ` (${archive.inBackup.segments.join(', ')} in base backup ${archive.inBackup.label}'s own pg_wal, not archived: a restore of that backup reads ${archive.inBackup.segments.length > 1 ? 'them' : 'it'} from there)` : ''
    }${archive.nudged ? `; ${archive.nudged}` : ''}`,
    details,
  };
};
