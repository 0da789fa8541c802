// The logs kept with a run: only the last 10 MiB of each, from the start of a line, with a first
// line saying how much was cut; files read out of the tar stream Docker's archive API sends.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keptLog, LOG_TAIL_BYTES, notableLines, readTarTails, TailKeeper, truncationNote, writeLogsManifest } from '../../harness/cluster/docker/logs.ts';
import { POSTGRES_LOGS } from '../../harness/engines/postgres/postgres-node.ts';
import { REDIS_LOGS } from '../../harness/engines/redis/redis-node.ts';
import { buildResult } from '../../harness/report/result.ts';
import { renderHtml } from '../../harness/report/html.ts';
import type { RunLog } from '../../harness/report/logs.ts';

const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => `line ${String(from + i).padStart(7, '0')}\n`).join('');

/** Feeds `text` in chunks of `size` bytes. */
function keeperOf(text: string | Buffer, limit: number, size = 7): TailKeeper {
  const keeper = new TailKeeper(limit);
  const data = Buffer.from(text);
  for (let at = 0; at < data.length; at += size) keeper.push(data.subarray(at, at + size));
  return keeper;
}

describe('keeping the end of a log', () => {
  it('keeps a log under the limit whole, with no note', () => {
    const text = lines(0, 10);
    const { data, truncated } = keptLog(keeperOf(text, 1000));
    expect(truncated).toBe(false);
    expect(data.toString()).toBe(text);
  });

  it('keeps a log of exactly the limit whole', () => {
    const text = lines(0, 10); // 130 bytes
    expect(keptLog(keeperOf(text, Buffer.byteLength(text))).truncated).toBe(false);
  });

  it('keeps only the last bytes of a longer log, from the next whole line, and says how many were cut first', () => {
    const text = lines(0, 1000); // 13 bytes a line
    const limit = 100;
    const keeper = keeperOf(text, limit);
    const { data, cutBytes } = keeper.tail();
    expect(data.length).toBeLessThanOrEqual(limit);
    expect(text.endsWith(data.toString())).toBe(true);
    expect(data.toString().startsWith('line ')).toBe(true); // not the middle of a line
    expect(cutBytes + data.length).toBe(text.length);
    const kept = keptLog(keeper);
    expect(kept.truncated).toBe(true);
    const [first, ...rest] = kept.data.toString().split('\n');
    expect(`${first}\n`).toBe(truncationNote(cutBytes, text.length));
    expect(first).toMatch(new RegExp(`the first ${cutBytes} of this log's ${text.length} bytes were cut`));
    expect(rest.join('\n')).toBe(data.toString());
    expect(rest.at(-2)).toBe('line 0000999');
  });

  it('keeps exactly the last bytes when no line starts near the cut', () => {
    const text = 'x'.repeat(200_000);
    const { data, cutBytes } = keeperOf(text, 100_000, 4096).tail();
    expect(data.length).toBe(100_000);
    expect(cutBytes).toBe(100_000);
  });

  it('holds about the limit in memory however long the log, and keeps 10 MiB by default', () => {
    const keeper = new TailKeeper();
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 25; i++) keeper.push(chunk);
    const { data, cutBytes } = keeper.tail();
    expect(data.length).toBe(LOG_TAIL_BYTES);
    expect(cutBytes).toBe(15 * 1024 * 1024);
    expect(keeper.total).toBe(25 * 1024 * 1024);
  });
});

describe('reading the files of a tar stream', () => {
  const tar = (dir: string, format: string, ...paths: string[]) => {
    const made = spawnSync('tar', [`--format=${format}`, '-cf', '-', '-C', dir, ...paths], { maxBuffer: 64 * 1024 * 1024 });
    expect(made.status, made.stderr?.toString()).toBe(0);
    return made.stdout;
  };
  const chunked = async function* (data: Buffer, size: number) {
    for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
  };

  it.each([
    ['ustar', 1],
    ['pax', 511],
    ['gnu', 4096],
  ])('keeps the tail of each file of a folder, names long ones included (%s, chunks of %d bytes)', async (format, size) => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-logs-'));
    const long = `${'n'.repeat(90)}/${'m'.repeat(60)}.log`; // over ustar's 100 bytes: prefix, PAX or GNU long name
    mkdirSync(join(dir, 'faultline', 'n'.repeat(90)), { recursive: true });
    writeFileSync(join(dir, 'faultline', 'postgresql.log'), lines(0, 100));
    writeFileSync(join(dir, 'faultline', 'empty.log'), '');
    writeFileSync(join(dir, 'faultline', long), lines(500, 3));
    const files = await readTarTails(chunked(tar(dir, format, 'faultline'), size), 200);
    const byName = new Map(files.map((f) => [f.name, f.keeper]));
    expect([...byName.keys()].sort()).toEqual(['faultline/empty.log', 'faultline/postgresql.log', `faultline/${long}`].sort());
    expect(byName.get('faultline/postgresql.log')!.total).toBe(1300);
    expect(keptLog(byName.get('faultline/postgresql.log')!).data.toString()).toMatch(/^\[faultline: the first \d+ of this log's 1300 bytes were cut.*\]\nline \d+\n[^]*line 0000099\n$/);
    expect(keptLog(byName.get(`faultline/${long}`)!).data.toString()).toBe(lines(500, 3));
    expect(byName.get('faultline/empty.log')!.total).toBe(0);
  });
});

describe('the lines of a log worth quoting', () => {
  it('picks PostgreSQL PANIC and FATAL lines, pgBackRest and pg_receivewal errors', () => {
    const log = [
      '2024-01-01 00:00:00.000 UTC [38] LOG:  database system is ready to accept connections',
      '2024-01-01 00:00:01.000 UTC [40] PANIC:  could not fsync file "pg_wal/000000010000000000000001": Input/output error',
      '2024-01-01 00:00:02.000 UTC [41] FATAL:  requested timeline 2 is not a child of this server\'s history',
      'pg_receivewal: error: could not receive data from WAL stream: server closed the connection unexpectedly',
      '2024-01-01 00:00:03.000 P00  ERROR: [082]: WAL segment 000000010000000000000002 was not archived before the 60000ms timeout',
      '',
    ].join('\n');
    expect(notableLines(Buffer.from(log), POSTGRES_LOGS)).toEqual(log.split('\n').slice(1, 5));
  });

  it('leaves out the FATAL lines every run has: sessions ended by a shutdown, logins refused while starting', () => {
    const log = [
      '2024-01-01 00:00:00.000 UTC [75] faultline-p2 FATAL:  terminating connection due to administrator command',
      '2024-01-01 00:00:00.000 UTC [91] [unknown] FATAL:  the database system is shutting down',
      '2024-01-01 00:00:00.000 UTC [91] [unknown] FATAL:  the database system is starting up',
      '2024-01-01 00:00:00.000 UTC [55] [unknown] FATAL:  password authentication failed for user "postgres"',
      '2024-01-01 00:00:00.000 UTC [55] FATAL:  could not connect to the primary server: connection to server at "pg-primary" failed',
    ].join('\n');
    expect(notableLines(Buffer.from(log), POSTGRES_LOGS)).toEqual([log.split('\n')[4]]);
  });

  it("picks Redis's warnings", () => {
    const log = ['12:M 01 Jan 2024 00:00:00.000 * Ready to accept connections tcp', '12:M 01 Jan 2024 00:00:01.000 # Bad file format reading the append only file appendonly.aof.1.incr.aof', 'fl-redis: copying the RDB from redis-primary failed: x'].join('\n');
    expect(notableLines(Buffer.from(log), REDIS_LOGS)).toEqual(log.split('\n').slice(1));
  });

  it('lists only the last few', () => {
    const log = Array.from({ length: 30 }, (_, i) => `x [1] PANIC:  number ${i}`).join('\n');
    const found = notableLines(Buffer.from(log), POSTGRES_LOGS);
    expect(found).toHaveLength(8);
    expect(found.at(-1)).toMatch(/number 29$/);
  });
});

describe('the logs in result.json and report.html', () => {
  const build = (dir: string) =>
    buildResult({ experiment: 'x', seed: 1, runId: 'abcd1234', history: [], final: null, checks: [], timings: { clusterReadyMs: null, workloadMs: null, totalMs: 1 }, versions: {}, dir });

  it('lists what logs/logs.json lists, and links each file relatively under a Logs heading', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-run-'));
    const logs: RunLog[] = [
      { node: 'pg-primary', file: 'postgresql.log', path: 'logs/pg-primary/postgresql.log', bytes: 12_000_000, truncated: true, notable: ['x [40] PANIC:  could not fsync <file>'] },
      { node: 'pg-archive', file: 'pgbackrest/main-backup.log', path: 'logs/pg-archive/pgbackrest/main-backup.log', bytes: 10, truncated: false },
    ];
    writeLogsManifest(join(dir, 'logs'), { logs, problems: [] });
    const result = build(dir);
    expect(result.logs!.map((l) => l.path)).toEqual(['logs/pg-archive/pgbackrest/main-backup.log', 'logs/pg-primary/postgresql.log']);
    const html = renderHtml(result, []);
    expect(html).toContain('<h2>Logs</h2>');
    expect(html).toContain('<a href="logs/pg-primary/postgresql.log">postgresql.log</a>');
    expect(html).toContain('<a href="logs/pg-archive/pgbackrest/main-backup.log">pgbackrest/main-backup.log</a>');
    expect(html).toContain('only its last 10 MiB kept');
    expect(html).toContain('<code>x [40] PANIC:  could not fsync &lt;file&gt;</code>');
  });

  it('has no logs field and no Logs section for a run that kept none', () => {
    const result = build(mkdtempSync(join(tmpdir(), 'faultline-run-')));
    expect('logs' in result).toBe(false);
    expect(renderHtml(result, [])).not.toContain('<h2>Logs</h2>');
  });
});
