// When the cron loop runs `barman cron`: the shell test (run here by bash, on a directory laid out
// as Barman's) holds exactly when archive-wal would move something, a backup waits for WAL, or
// receive-wal should be started again.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { barmanConf } from '../../harness/engines/postgres/barman/conf.ts';
import { cronWork } from '../../harness/engines/postgres/barman/processes.ts';

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A barman_home with the server's directories holding `files` (paths under the server's directory). */
function layout(files: string[], streaming = false): { work: () => boolean } {
  const repo = mkdtempSync(join(tmpdir(), 'faultline-cron-'));
  homes.push(repo);
  const conf = barmanConf({}, { repo, primary: 'pg-primary', archive: 'pg-archive', slot: 'pg_archive', synchronous: false, pgBin: '/usr/bin' });
  const server = join(conf.home, conf.server);
  for (const dir of ['incoming', 'streaming', 'base']) mkdirSync(join(server, dir), { recursive: true });
  for (const file of files) {
    mkdirSync(join(server, file, '..'), { recursive: true });
    writeFileSync(join(server, file), file.endsWith('backup.info') ? 'status=WAITING_FOR_WALS\n' : '');
  }
  const test = cronWork({ ...conf, streaming });
  return {
    work: () => {
      try {
        execFileSync('bash', ['-c', test]);
        return true;
      } catch {
        return false;
      }
    },
  };
}

const SEG = (n: number) => `streaming/0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;

describe("the cron loop's test for work", () => {
  it('finds none in an idle server: the newest complete segment with no .partial after it stays for pg_receivewal', () => {
    expect(layout([]).work()).toBe(false);
    expect(layout([SEG(3)]).work()).toBe(false);
    expect(layout([`${SEG(4)}.partial`]).work()).toBe(false);
    expect(layout([`${SEG(4)}.tmp`, `${SEG(5)}.partial`]).work()).toBe(false);
  });

  it('finds a complete segment followed by a .partial, two complete ones, or two partials', () => {
    expect(layout([SEG(3), `${SEG(4)}.partial`]).work()).toBe(true);
    expect(layout([SEG(3), SEG(4)]).work()).toBe(true);
    expect(layout([`${SEG(3)}.partial`, `${SEG(4)}.partial`]).work()).toBe(true);
  });

  it('finds a file barman-wal-archive put in incoming, and a backup waiting for WAL', () => {
    expect(layout(['incoming/000000010000000000000003']).work()).toBe(true);
    expect(layout(['base/20261206T120000/backup.info']).work()).toBe(true);
  });

  it('with streaming_archiver on, finds receive-wal not running (none runs here)', () => {
    expect(layout([], true).work()).toBe(true);
  });
});
