// Barman's commands on the Barman host (the archive node), run as barman_user (postgres) with its
// ~/.pgpass, each returning the record that goes into the run's log or the history.

import { ClusterError } from '../../../errors.ts';
import type { ExecRecord, PostgresNodeHandle } from '../postgres-node.ts';

/** `barman …` on the archive node; the record whatever its exit code. */
export function barman(archive: PostgresNodeHandle, args: string[]): Promise<ExecRecord> {
  return archive.exec(['barman', ...args], { env: { PYTHONUNBUFFERED: '1' } });
}

/** Like barman(), but a non-zero exit is a ClusterError quoting what Barman said. */
export async function barmanOk(archive: PostgresNodeHandle, args: string[]): Promise<ExecRecord> {
  const record = await barman(archive, args);
  if (record.exitCode !== 0) throw new ClusterError(`barman ${args.join(' ')} on ${archive.name} exited ${record.exitCode}: ${said(record)}`);
  return record;
}

/** What a command said, stdout and stderr, trimmed. */
export function said(record: Pick<ExecRecord, 'stdout' | 'stderr'>): string {
  return `${record.stdout}${record.stderr}`.trim();
}

/** A JSON answer of `barman -f json …`; a ClusterError when it is not JSON. */
export async function barmanJson<T>(archive: PostgresNodeHandle, args: string[]): Promise<T> {
  const record = await barmanOk(archive, ['-f', 'json', ...args]);
  try {
    return JSON.parse(record.stdout) as T;
  } catch {
    throw new ClusterError(`barman -f json ${args.join(' ')} on ${archive.name} did not print JSON: ${said(record).slice(0, 300)}`);
  }
}
