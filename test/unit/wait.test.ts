import { describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../../harness/wait.ts';

describe('waiting for a condition', () => {
  it('returns what the check found, as soon as it finds it', async () => {
    let calls = 0;
    const value = await waitFor({ what: 'the third call', timeoutMs: 5000, intervalMs: 1 }, async () => (++calls === 3 ? 'found' : undefined));
    expect(value).toBe('found');
    expect(calls).toBe(3);
  });

  it('gives up at the deadline, saying what it waited for and what it last saw', async () => {
    await expect(
      waitFor({ what: 'pg-replica to stream', timeoutMs: 50, intervalMs: 5 }, async (seen) => {
        seen('catchup');
        return undefined;
      }),
    ).rejects.toThrow('timed out after 50 ms waiting for pg-replica to stream (last seen: catchup)');
  });

  it('builds the error the caller asks for, and stops at once on an error from the check', async () => {
    class Mine extends Error {}
    await expect(waitFor({ what: 'x', timeoutMs: 10, intervalMs: 1, error: (m) => new Mine(m) }, async () => undefined)).rejects.toBeInstanceOf(Mine);
    let calls = 0;
    await expect(
      waitFor({ what: 'x', timeoutMs: 5000, intervalMs: 1 }, async () => {
        calls++;
        throw new Error('broken');
      }),
    ).rejects.toThrow('broken');
    expect(calls).toBe(1);
  });

  it('stops when its signal aborts, and so does sleep', async () => {
    const controller = new AbortController();
    const waiting = waitFor({ what: 'forever', timeoutMs: 60_000, intervalMs: 10, signal: controller.signal }, async () => undefined);
    setTimeout(() => controller.abort(new Error('interrupted')), 20);
    await expect(waiting).rejects.toThrow('interrupted');
    const aborted = new AbortController();
    aborted.abort(new Error('no'));
    await expect(sleep(10_000, aborted.signal)).rejects.toThrow('no');
  });
});
