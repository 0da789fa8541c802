// pgbackrest verify, judged by what it says rather than by its exit code: pgBackRest 2.45 exits 0
// even when it finds a damaged file in the repository, and reports it only as "status: error" in
// its summary. This runs it with the summary on, and turns that status into an exit code.

import type { PostgresNodeHandle } from './postgres-node.ts';

export interface PgBackRestVerification {
  /** 0 when pgBackRest says `status: ok`; 1 when it says `status: error`; its own code when it failed. */
  exitCode: number;
  /** One line first (what is wrong, or that all is well), then the whole summary. */
  output: string;
}

/** Reads `pgbackrest verify --output=text --verbose` (with its INFO lines) into a verdict. */
export function judgePgBackRestVerify(exitCode: number, stdout: string, stderr: string): PgBackRestVerification {
  const text = `${stdout}\n${stderr}`;
  if (exitCode !== 0) return { exitCode, output: `pgbackrest verify failed (exit ${exitCode}): ${text.trim()}` };
  const status = /^status:\s*(\S+)/m.exec(text)?.[1];
  // "invalid result <file>: <why>" INFO lines name the bad files.
  const invalid = [...text.matchAll(/invalid result (\S+?): (.*)$/gm)].map((m) => `${m[1]} (${m[2]!.trim()})`);
  const counts = [...text.matchAll(/^\s*((?:archiveId|backup): [^\n]*)\n\s*(missing: \d+, checksum invalid: \d+, size invalid: \d+, other: \d+)/gm)]
    .filter((m) => /: [1-9]/.test(m[2]!))
    .map((m) => `${m[1]!.trim()} (${m[2]})`);
  const summary = text.split('\n').filter((line) => !/^\d{4}-\d\d-\d\d /.test(line) && line.trim()).join('\n');
  if (status === 'ok') return { exitCode: 0, output: `pgbackrest verify: status ok\n${summary}` };
  if (status === 'error') {
    const what = [...invalid, ...counts].join('; ') || 'see the summary';
    return { exitCode: 1, output: `pgbackrest verify found damage in the repository: ${what}\n${summary}` };
  }
  return { exitCode: 1, output: `pgbackrest verify printed no status line, so its result is unknown:\n${text.trim()}` };
}

export async function verifyPgBackRest(archive: PostgresNodeHandle): Promise<PgBackRestVerification> {
  const result = await archive.exec(['pgbackrest', '--stanza=main', 'verify', '--output=text', '--verbose', '--job-retry=0', '--log-level-console=info']);
  return judgePgBackRestVerify(result.exitCode, result.stdout, result.stderr);
}
