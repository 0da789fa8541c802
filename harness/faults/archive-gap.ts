import { archivedWalDir } from '../cluster/postgres/recovery.ts';
import { asRoot, overwriteScript, targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

/**
 * archive-gap: the WAL segment the primary has just finished disappears from the backup
 * repository (or is damaged there), so the archive has a hole. Nothing notices at the time:
 * archiving goes on with the next segment. A restore replays up to the hole, and PostgreSQL takes
 * it for the end of the archive and promotes; faultline's restore sees the WAL past it and fails.
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
    how: { description: "'remove' the segment, or 'damage' bytes in its middle", kind: 'choice', choices: ['remove', 'damage'], default: 'remove' },
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
    // pg_receivewal names it <segment> once complete; pgBackRest <segment>-<sha1>[.lz4] once pushed
    // (its .pgbackrest.tmp while the push is under way).
    const find = `find ${dir} -type f \\( -name '${segment}' -o -name '${segment}-*' \\) ! -name '*.tmp' -print -quit`;
    let file = '';
    for (const deadline = Date.now() + 15_000; !file && Date.now() < deadline; ) {
      file = (await archive.exec(['bash', '-c', find])).stdout.trim();
      if (!file) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (!file) throw new Error(`WAL segment ${segment} did not reach the archive on ${archive.name} (${dir}) within 15 s, so there is nothing to remove`);
    if (how === 'remove') {
      await asRoot(archive, ['bash', '-c', `rm -f '${file}' && sync -f ${dir}`]);
      return { detail: `removed WAL segment ${segment} from the archive on ${archive.name} (${file})` };
    }
    // Damage where records are, not in the zeroed tail after the switch: the middle of what was used.
    const length = Number((await archive.run(['stat', '-c', '%s', file])).stdout.trim());
    const end = file.endsWith(segment) ? Math.max(Number(used) || length, 16_384) : length;
    const offset = Math.floor(end / 4 + random() * (end / 2));
    await asRoot(archive, ['bash', '-c', `${overwriteScript(file, [offset], 64, random)} && sync -f ${dir}`]);
    return { detail: `overwrote 64 bytes at offset ${offset} of WAL segment ${segment} in the archive on ${archive.name} (${file})` };
  },
};
