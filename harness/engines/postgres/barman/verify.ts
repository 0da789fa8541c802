// Barman's own opinion of its backups at the end of a run: `barman verify-backup <server> <newest>`
// (pg_verifybackup on the backup against its manifest) judges the backup: damage is what it finds, a
// verification that could not run cannot tell, and says why. `barman check <server>` (exit 0 when
// every check passes, 1 when any fails, as its manual says) is recorded beside it: its checks are
// about the server's configuration and policies (minimum redundancy, backup age), not the backup's
// contents, so they are the tool's opinion, not the verdict. With no backup there is nothing to verify.

import type { PostgresNodeHandle } from '../postgres-node.ts';
import type { PostgresTopology } from '../topology.ts';
import { readPgVerifyBackup, type Reading } from '../verification.ts';
import { barman, said } from './command.ts';
import { barmanCheck } from './setup.ts';
import { clusterConf } from './site.ts';

/** The reading of both outputs: pure, for the unit tests. */
export function readBarmanVerify(check: { exitCode: number; output: string }, verify: { exitCode: number; output: string } | undefined): Reading {
  if (verify) {
    const verified = verify.exitCode === 0 && /successfully verified/i.test(verify.output);
    if (!verified) {
      const reading = readPgVerifyBackup(verify.exitCode === 0 ? 1 : verify.exitCode, verify.output);
      return reading.verdict === 'damaged' ? reading : { verdict: 'unknown', why: `barman verify-backup: ${reading.why ?? verify.output.trim().split('\n').at(-1)}` };
    }
  }
  if (!verify && check.exitCode !== 0) {
    const failed = check.output.split('\n').map((l) => l.trim()).filter((l) => /: FAILED/.test(l));
    return { verdict: 'unknown', why: `barman check failed: ${failed.join('; ') || check.output.trim().split('\n').at(-1)}` };
  }
  return { verdict: 'ok' };
}

export async function verifyWithBarman(archive: PostgresNodeHandle, topology: PostgresTopology): Promise<{ tool: string; exitCode: number; output: string; reading: Reading } | undefined> {
  const conf = clusterConf(topology, 'primary');
  const check = await barmanCheck(archive, conf);
  const listed = await barman(archive, ['list-backups', '--minimal', conf.server]);
  const newest = listed.exitCode === 0 ? listed.stdout.split('\n').map((l) => l.trim()).filter(Boolean)[0] : undefined;
  if (!newest) return undefined; // no backup was taken (or none is left): nothing to verify
  const verify = await barman(archive, ['verify-backup', conf.server, newest]);
  const output = [`$ barman verify-backup ${conf.server} ${newest} (exit ${verify.exitCode})`, said(verify), `$ barman check ${conf.server} (exit ${check.exitCode}: the tool's own opinion, recorded)`, check.output].join('\n');
  return { tool: 'barman verify-backup (barman check recorded)', exitCode: verify.exitCode, output, reading: readBarmanVerify(check, { exitCode: verify.exitCode, output: said(verify) }) };
}
