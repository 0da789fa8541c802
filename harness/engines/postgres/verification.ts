// What each PostgreSQL verification tool's result means, as its manual defines it: damage it found
// (a finding), no damage, or its own failure to tell (never a pass, never a finding). Pure, so the
// unit tests can feed each tool's documented exit codes and words.

import type { IntegrityVerdict } from '../../history/final-state.ts';

export interface Reading {
  verdict: IntegrityVerdict;
  /** With `unknown`: why the tool could not tell, in its own words. */
  why?: string;
}

/** The tool's own line that says why it failed: its first error (or warning, or fatal) line, else its first line. */
function ownWords(output: string): string {
  const lines = output.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /\berror\b|\bwarning\b|\bfatal\b|\bfailed\b/i.test(l)) ?? lines[0] ?? 'no output';
}

/** A failure to check that says nothing about the data: cancelled, disconnected, out of memory, the relation dropped meanwhile. */
const NOT_DAMAGE = /canceling statement due to|terminating connection|server closed the connection|connection to server .* failed|could not connect|lock timeout|out of memory|could not open relation with OID/i;

/** Each relation pg_amcheck reports ('heap table "db.s.t", block 3, offset 2:' or 'btree index "db.s.i":'), with its indented message. */
export function amcheckFindings(output: string): Array<{ relation: string; message: string }> {
  const findings: Array<{ relation: string; message: string }> = [];
  for (const line of output.split('\n')) {
    const header = /^(heap table|btree index) "([^"]+)".*:\s*$/.exec(line);
    if (header) findings.push({ relation: `${header[1]} "${header[2]}"`, message: '' });
    else if (/^\s+\S/.test(line) && findings.length > 0) findings.at(-1)!.message += `${findings.at(-1)!.message ? ' ' : ''}${line.trim()}`;
  }
  return findings;
}

/**
 * pg_amcheck exits 0 when it found no corruption, 2 when it found some, 1 when it failed itself
 * (no connection, "amcheck is not installed" in a database it was to check). Its source tests its
 * own failure first, so exit 1 may also come with corruption it printed for another database:
 * what it printed is read either way. A check that was only cancelled (statement_timeout) or lost
 * its connection is reported like a finding, but says nothing about the data.
 */
export function readPgAmcheck(exitCode: number, output: string): Reading {
  if (exitCode === 0) return { verdict: 'ok' };
  if (exitCode < 0) return { verdict: 'unknown', why: `pg_amcheck did not run: ${ownWords(output)}` };
  const findings = amcheckFindings(output);
  const damage = findings.filter((f) => !NOT_DAMAGE.test(f.message));
  if (damage.length > 0) return { verdict: 'damaged' };
  if (findings.length > 0) return { verdict: 'unknown', why: `its checks did not finish: ${findings[0]!.relation}: ${findings[0]!.message}` };
  if (exitCode === 2) return { verdict: 'damaged' }; // corruption, as the manual says, though in words not read here
  return { verdict: 'unknown', why: ownWords(output) };
}

/**
 * pg_checksums --check exits 0 when every block's checksum verifies and non-zero otherwise: for
 * checksum failures ("checksum verification failed in file …", "Bad checksums: N") and for its own
 * errors alike (the server still running, checksums not enabled, a file it cannot open), which are
 * told apart by its words.
 */
export function readPgChecksums(exitCode: number, output: string): Reading {
  if (exitCode === 0) return { verdict: 'ok' };
  if (/checksum verification failed in file|Bad checksums:\s*[1-9]/.test(output)) return { verdict: 'damaged' };
  return { verdict: 'unknown', why: ownWords(output) };
}

/**
 * pg_verifybackup exits non-zero for a backup that does not match its manifest (a file missing,
 * extra, of another size or checksum; WAL that does not parse) and for its own errors (no manifest
 * it can open, out of memory): the backup's faults are told apart by its words.
 */
export function readPgVerifyBackup(exitCode: number, output: string): Reading {
  if (exitCode === 0) return { verdict: 'ok' };
  const damage = /checksum mismatch|present on disk but not in the manifest|present in the manifest but not on disk|on disk but size \d+ in the manifest|WAL parsing failed|should contain \d+ bytes, but read|is not a regular file or directory/;
  if (exitCode > 0 && damage.test(output)) return { verdict: 'damaged' };
  return { verdict: 'unknown', why: ownWords(output) };
}

/**
 * pgbackrest verify, as judgePgBackRestVerify reads it: `status: error` with the files it found
 * damaged is damage; a verify that failed itself (its exit code: a lock held by another command,
 * the repository unreachable) or printed no status line could not tell.
 */
export function readPgBackRestVerify(exitCode: number, output: string): Reading {
  if (exitCode === 0) return { verdict: 'ok' };
  // Its summary's status is its judgement of the repository, whatever the exit code says.
  if (output.startsWith('pgbackrest verify found damage') || /^status:\s*error/m.test(output)) return { verdict: 'damaged' };
  return { verdict: 'unknown', why: output.trim().split('\n')[0] ?? 'no output' };
}
