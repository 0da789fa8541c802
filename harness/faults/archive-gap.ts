import { targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

/**
 * archive-gap: the WAL segment the primary has just finished disappears from the backup
 * repository (or is damaged there), so the archive has a hole. Nothing notices at the time:
 * archiving goes on with the next segment. A restore replays up to the hole, and PostgreSQL takes
 * it for the end of the archive and promotes; faultline's restore sees the WAL past it and fails.
 * The damage lands where the segment holds WAL records (not in the zeroes after a switch), and the
 * fault reads it back to prove it is there.
 */
export const archiveGap: Fault = {
  name: 'archive-gap',
  description: 'Remove (or damage) the newest backup in the repository: PostgreSQL the newest finished WAL segment (the archive has a hole), Redis the newest RDB copy',
  mirrors: 'a retention job, a failed copy or bad blocks on the backup LUN',
  targets: ['node'],
  roles: ['archive'],
  disruptive: false,
  healable: false,
  params: {
    how: { description: "'remove' it, or 'damage' bytes in it (where a WAL segment holds records; the middle of an RDB copy)", kind: 'choice', choices: ['remove', 'damage'], default: 'remove' },
  },
  async inject({ cluster, random }, target, params) {
    return cluster.engine.damageBackup(cluster, targetNode(target), String(params.how ?? 'remove') === 'damage' ? 'damage' : 'remove', random);
  },
};
