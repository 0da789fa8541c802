import { describe, expect, it } from 'vitest';
import { judgePgBackRestVerify } from '../../harness/engines/postgres/pgbackrest-verify.ts';

// What pgBackRest 2.45 printed here (`verify --output=text --verbose --log-level-console=info`),
// once on a sound repository and once after 14 bytes of one archived WAL file were overwritten.
// Both times it exited 0.
const info = (message: string) => `2026-11-23 10:41:01.458 P00   INFO: ${message}`;
const sound = [
  info('verify command begin 2.45: --stanza=main'),
  'stanza: main',
  'status: ok',
  '  archiveId: 15-1, total WAL checked: 8, total valid WAL: 8',
  '    missing: 0, checksum invalid: 0, size invalid: 0, other: 0',
  '  backup: 20261123-104032F, status: valid, total files checked: 964, total valid files: 964',
  '    missing: 0, checksum invalid: 0, size invalid: 0, other: 0',
  info('verify command end: completed successfully (331ms)'),
].join('\n');
const damaged = [
  info('verify command begin 2.45: --stanza=main'),
  '2026-11-23 10:40:58.544 P01   INFO: invalid result 15-1/0000000100000000/000000010000000000000007-17c4.lz4: [29] raised from local-1 protocol: lz4 error: [-18] ERROR_contentChecksum_invalid',
  'stanza: main',
  'status: error',
  '  archiveId: 15-1, total WAL checked: 7, total valid WAL: 6',
  '    missing: 0, checksum invalid: 0, size invalid: 0, other: 1',
  '  backup: 20261123-104032F, status: valid, total files checked: 964, total valid files: 964',
  '    missing: 0, checksum invalid: 0, size invalid: 0, other: 0',
  info('verify command end: completed successfully (331ms)'),
].join('\n');

describe('judging pgbackrest verify by what it says', () => {
  it('passes a repository it calls ok', () => {
    const judged = judgePgBackRestVerify(0, sound, '');
    expect(judged.exitCode).toBe(0);
    expect(judged.output.split('\n')[0]).toBe('pgbackrest verify: status ok');
  });

  it('fails a repository it calls in error, though it exited 0, naming the bad file and the counts', () => {
    const judged = judgePgBackRestVerify(0, damaged, '');
    expect(judged.exitCode).toBe(1);
    const first = judged.output.split('\n')[0]!;
    expect(first).toMatch(/^pgbackrest verify found damage in the repository: 15-1\/0000000100000000\/000000010000000000000007-17c4\.lz4 \(\[29\] .*ERROR_contentChecksum_invalid\)/);
    expect(first).toMatch(/archiveId: 15-1, total WAL checked: 7, total valid WAL: 6 \(missing: 0, checksum invalid: 0, size invalid: 0, other: 1\)/);
    expect(first).not.toMatch(/backup: 20261123-104032F/); // the sound backup is not blamed
    expect(judged.output).not.toMatch(/INFO: verify command begin/); // log lines are left out of the summary
  });

  it('keeps its own failure, and does not take silence for success', () => {
    expect(judgePgBackRestVerify(56, '', 'ERROR: [056]: unable to find primary cluster')).toEqual({
      exitCode: 56,
      output: expect.stringMatching(/^pgbackrest verify failed \(exit 56\): ERROR: \[056\]/),
    });
    expect(judgePgBackRestVerify(0, info('verify command end'), '').exitCode).toBe(1);
  });
});
