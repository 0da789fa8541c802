import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HistoryWriter, readHistory } from '../../harness/history/index.ts';

describe('history on disk', () => {
  it('has every appended event on disk at once, before close', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'faultline-history-')), 'history.jsonl');
    const writer = new HistoryWriter(path);
    writer.append({ type: 'run', phase: 'start', experiment: 'x', seed: 1 });
    writer.append({ type: 'invoke', process: 1, f: 'write', key: 7, value: 'v7', node: 'pg-primary' });
    // Not closed: what a crashed run leaves behind.
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!)).toMatchObject({ type: 'invoke', key: 7 });
    writer.close();
  });

  it('reads back a history whose last line was torn by a crash', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'faultline-history-')), 'history.jsonl');
    const writer = new HistoryWriter(path);
    writer.append({ type: 'invoke', process: 1, f: 'write', key: 1, value: 'v1', node: 'n' });
    writer.append({ type: 'ok', process: 1, f: 'write', key: 1, value: 'v1', node: 'n' });
    writer.close();
    appendFileSync(path, '{"type":"invoke","process":2,"f":"wri');
    const { events, skipped } = readHistory(path);
    expect(events.map((e) => e.type)).toEqual(['invoke', 'ok']);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.line).toBe(3);
  });

  it('stamps events with monotonic times since the run started', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'faultline-history-')), 'history.jsonl');
    const writer = new HistoryWriter(path, performance.now() - 1000);
    const a = writer.append({ type: 'run', phase: 'phase', name: 'a' });
    const b = writer.append({ type: 'run', phase: 'phase', name: 'b' });
    expect(a.time).toBeGreaterThanOrEqual(1000);
    expect(b.time).toBeGreaterThanOrEqual(a.time);
    writer.close();
  });
});

describe('completions written with the next event', () => {
  const fresh = () => join(mkdtempSync(join(tmpdir(), 'faultline-history-')), 'history.jsonl');
  const lines = (path: string) => readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; key?: number; time: number });

  it('goes to disk with the next append, before it, in order and with its own time', () => {
    const path = fresh();
    const writer = new HistoryWriter(path);
    writer.append({ type: 'invoke', process: 1, f: 'write', key: 1, value: 'v1', node: 'n' });
    const ok = writer.appendSoon({ type: 'ok', process: 1, f: 'write', key: 1, value: 'v1', node: 'n' });
    expect(lines(path).map((e) => e.type)).toEqual(['invoke']); // held, nothing else happened yet
    writer.append({ type: 'invoke', process: 1, f: 'write', key: 2, value: 'v2', node: 'n' });
    const written = lines(path);
    expect(written.map((e) => `${e.type}${e.key}`)).toEqual(['invoke1', 'ok1', 'invoke2']);
    expect(written[1]!.time).toBe(ok.time);
    expect(written[1]!.time).toBeLessThanOrEqual(written[2]!.time);
    writer.close();
  });

  it('goes to disk at the end of the turn when no other event comes, and on close', async () => {
    const path = fresh();
    const writer = new HistoryWriter(path);
    writer.appendSoon({ type: 'ok', process: 1, f: 'write', key: 1, value: 'v1', node: 'n' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines(path).map((e) => e.type)).toEqual(['ok']);
    writer.appendSoon({ type: 'ok', process: 2, f: 'write', key: 2, value: 'v2', node: 'n' });
    writer.close();
    expect(lines(path).map((e) => e.key)).toEqual([1, 2]);
  });
});
