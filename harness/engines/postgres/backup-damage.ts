// The backup repository's damage for the archive-gap fault: the WAL segment the primary has just
// finished disappears from the archive (or is damaged there), so the archive has a hole.

import { archivedWalDir, findArchivedSegment } from './archive.ts';
import { waitFor } from '../../wait.ts';
import { damageAt, damageStillThere, overwriteScript } from '../../cluster/damage.ts';
import type { Corruption } from '../../cluster/engine.ts';
import type { Random } from '../../random.ts';
import type { PostgresNodeHandle } from './postgres-node.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';

const DAMAGE_BYTES = 64;
const asRoot = (node: PostgresNodeHandle, command: string[]) => node.run(command, { user: 'root' });

/**
 * Closes the primary's current WAL segment, waits for it in the archive, then removes it or damages
 * bytes where it holds WAL records, and reads it back to prove it.
 */
export async function damageArchivedWal(cluster: StartedPostgresCluster, archive: PostgresNodeHandle, how: 'remove' | 'damage', random: Random): Promise<Corruption> {
  // Close the primary's current segment (with a record in it, so that there is one to close),
  // which sends it to the archive complete; the primary goes on in the next one.
  const primary = cluster.primary();
  await primary.psql("SELECT pg_logical_emit_message(false, 'faultline', 'archive-gap')");
  const [segment, used] = (await primary.psql("SELECT file_name || ' ' || file_offset FROM pg_walfile_name_offset(pg_switch_wal())")).split(' ') as [string, string];
  const dir = archivedWalDir(cluster);
  const file = await waitFor({ what: `WAL segment ${segment} to reach the archive on ${archive.name} (${dir})`, timeoutMs: 15_000, intervalMs: 50 }, async () =>
    (await findArchivedSegment(cluster, archive, segment)) || undefined,
  );
  if (how === 'remove') {
    await asRoot(archive, ['bash', '-c', `rm -f '${file}' && fl-sync ${dir}`]);
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
  await asRoot(archive, ['bash', '-c', `${overwriteScript(file, places)} && fl-sync ${dir}`]);
  const there = await damageStillThere(archive, file, places);
  return {
    detail: `overwrote ${DAMAGE_BYTES} bytes at offset ${places[0]!.offset} (of ${end} holding WAL) of WAL segment ${segment} in the archive on ${archive.name} (${file})`,
    ...(there === 1 ? {} : { noEffect: `the damaged bytes are not in ${file} when read back` }),
  };
}
