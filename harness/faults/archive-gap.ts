import { archivedWalDir, findArchivedSegment } from '../cluster/postgres/archive.ts';
import { waitFor } from '../wait.ts';
import { asRoot, damageAt, damageStillThere, overwriteScript, targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

const DAMAGE_BYTES = 64;

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
  description: 'Remove (or damage) the newest finished WAL segment in the backup repository: the archive has a hole',
  mirrors: 'a retention job, a failed copy or bad blocks on the backup LUN',
  targets: ['node'],
  roles: ['archive'],
  disruptive: false,
  healable: false,
  params: {
    how: { description: "'remove' the segment, or 'damage' bytes where it holds WAL records", kind: 'choice', choices: ['remove', 'damage'], default: 'remove' },
  },
  async inject({ cluster, random }, target, params) {
    const archive = targetNode(target);
    const how = String(params.how ?? 'remove');
    // Close the primary's current segment (with a record in it, so that there is one to close),
    // which sends it to the archive complete; the primary goes on in the next one.
    const primary = cluster.primary();
    await primary.psql("SELECT pg_logical_emit_message(false, 'faultline', 'archive-gap')");
    const [segment, used] = (await primary.psql("SELECT file_name || ' ' || file_offset FROM pg_walfile_name_offset(pg_switch_wal())")).split(' ') as [string, string];
    const dir = archivedWalDir(cluster);
    const file = await waitFor({ what: `WAL segment ${segment} to reach the archive on ${archive.name} (${dir})`, timeoutMs: 15_000 }, async () =>
      (await findArchivedSegment(cluster, archive, segment)) || undefined,
    );
    if (how === 'remove') {
      await asRoot(archive, ['bash', '-c', `rm -f '${file}' && sync -f ${dir}`]);
      const gone = (await archive.exec(['test', '-e', file])).exitCode !== 0;
      return {
        detail: `removed WAL segment ${segment} from the archive on ${archive.name} (${file})`,
        ...(gone ? {} : { noEffect: `${file} is still in the archive after removal` }),
      };
    }
    // Where records are: a plain segment holds them up to the switch (`used` bytes); a compressed
    // one (pgBackRest) is records throughout.
    const length = Number((await archive.run(['stat', '-c', '%s', file])).stdout.trim());
    const end = file.endsWith(segment) ? Math.min(Number(used) || 0, length) : length;
    if (end < 2 * DAMAGE_BYTES) return { detail: `WAL segment ${segment} in the archive holds only ${end} bytes`, noEffect: `the segment holds too little WAL (${end} bytes) to damage` };
    const places = damageAt([Math.floor(random() * (end - DAMAGE_BYTES))], DAMAGE_BYTES, random);
    await asRoot(archive, ['bash', '-c', `${overwriteScript(file, places)} && sync -f ${dir}`]);
    const there = await damageStillThere(archive, file, places);
    return {
      detail: `overwrote ${DAMAGE_BYTES} bytes at offset ${places[0]!.offset} (of ${end} holding WAL) of WAL segment ${segment} in the archive on ${archive.name} (${file})`,
      ...(there === 1 ? {} : { noEffect: `the damaged bytes are not in ${file} when read back` }),
    };
  },
};
