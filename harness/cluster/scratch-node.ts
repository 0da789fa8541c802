// What every engine's prove-backup scratch node shares: the user's paths proved read-only from inside
// before anything reads them, and each phase's wall time kept as it ends (also when it throws).

import type { ClusterNode } from './engine.ts';
import type { ReadOnlyPath } from './prove-ability.ts';

/**
 * How each of the user's paths is mounted in `node` (findmnt's options). A path that is not mounted
 * read-only stops the proof before anything read it: a proof must never be able to write into the
 * user's backups. That is faultline's own failure, a plain Error.
 */
export async function readOnlyMounts(node: ClusterNode, paths: readonly ReadOnlyPath[]): Promise<Array<{ target: string; flags: string }>> {
  const mounts: Array<{ target: string; flags: string }> = [];
  for (const path of paths) {
    const found = await node.exec(['findmnt', '-n', '-o', 'OPTIONS', '--target', path.target], { user: 'root' });
    const flags = found.stdout.trim().split('\n')[0] ?? '';
    if (found.exitCode !== 0 || !flags.split(',').includes('ro')) {
      throw new Error(`${path.what} (${path.source}) is not mounted read-only in the scratch node (${path.target}: '${flags || found.stderr.trim()}'): stopped before anything read it`);
    }
    mounts.push({ target: path.target, flags });
  }
  return mounts;
}

/** Runs `work`, adding its wall time to `phases[phase]` (also when it throws). */
export async function timed<T>(phases: Record<string, number>, phase: string, work: () => Promise<T>): Promise<T> {
  const began = performance.now();
  try {
    return await work();
  } finally {
    phases[phase] = (phases[phase] ?? 0) + Math.round(performance.now() - began);
  }
}
