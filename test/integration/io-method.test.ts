// PostgreSQL 18's I/O methods under I/O errors: each I/O-error drill (fsync-error,
// fsync-error-retry, and read-error, where the method carries the failing reads) runs on 18 with io_method = sync, worker and io_uring, and must do what the
// drill documents under each. The server itself says which method was in effect (SHOW io_method,
// and the io_uring rings its processes hold); where io_uring cannot start here, the server's own
// error is the evidence, and the drill's result carries it.

import { afterAll, describe, expect, it } from 'vitest';
import type { ExperimentResult } from '../../harness/experiment/index.ts';
import { IO_METHOD_STEP, IO_METHODS, readError, withIoMethod, type IoMethod } from '../../experiments/io-method.ts';
import { fsyncError, fsyncErrorRetry } from '../../experiments/power-loss.ts';
import { check, run, why } from '../helpers.ts';

const fault = (result: ExperimentResult, name: string) => result.faults.filter((f) => f.name === name);

/** One line per run, printed at the end: what each method did with each drill. */
const rows: string[] = [];
afterAll(() => console.log(`io_method on PostgreSQL 18:\n${rows.map((r) => `  ${r}`).join('\n')}`));

function record(result: ExperimentResult): void {
  const steps = result.faults.filter((f) => f.name === 'checkpoint' || f.name === 'scan' || f.name === IO_METHOD_STEP || f.name === 'io-error').map((f) => `${f.name}: ${f.detail}`);
  rows.push(`${result.experiment}: verdict ${result.verdict}, documented ${result.documented.ok} (${result.documented.why}), acknowledged ${result.writes.acknowledged}, lost ${result.writes.lost}, versions ${JSON.stringify(result.versions)}, integrity: ${check(result, 'integrity')?.summary}; ${steps.join(' | ')}${result.error ? `; error: ${result.error}` : ''}`);
}

/**
 * Where io_uring cannot run, PostgreSQL 18 refuses to start ("could not setup io_uring queue: ...")
 * and the run's error carries that line: true then, after asserting that evidence. Any other outcome
 * of an io_uring run is held to the drill's own expectations.
 */
function ioUringRefused(method: IoMethod, result: ExperimentResult): boolean {
  if (method !== 'io_uring' || result.error === undefined || !/io_uring/i.test(result.error)) return false;
  expect(result.error).toMatch(/io_uring/);
  expect(result.verdict).not.toBe('pass');
  rows.push(`${result.experiment}: io_uring is not available here, the server says: ${result.error.split('\n').find((l) => /io_uring/i.test(l))}`);
  return true;
}

/** The io-method step's detail says the server ran with the method, and io_uring rings only under io_uring. */
function expectMethodInEffect(result: ExperimentResult, method: IoMethod): void {
  const [step] = fault(result, IO_METHOD_STEP);
  expect(step?.detail, why(result)).toMatch(new RegExp(`^SHOW io_method: ${method}; \\d+ io_uring rings open in the postmaster$`));
  const rings = Number(/; (\d+) io_uring rings open in the postmaster/.exec(step?.detail ?? '')?.[1]);
  if (method === 'io_uring') expect(rings, step?.detail).toBeGreaterThan(0);
  else expect(rings, step?.detail).toBe(0);
}

describe.each(IO_METHODS.map((method) => ({ method })))('PostgreSQL 18 with io_method = $method', ({ method }) => {
  it('an fsync of a table file fails: PostgreSQL PANICs, recovers from the WAL, and loses nothing', async () => {
    const result = await run(withIoMethod(fsyncError, method));
    record(result);
    if (ioUringRefused(method, result)) return;
    expectMethodInEffect(result, method);
    expect(result.verdict, why(result)).toBe('pass');
    expect(result.writes.lost).toBe(0);
    expect(fault(result, 'io-error')[0]?.detail).toMatch(/pg-primary: 1 calls failed/);
    expect(fault(result, 'checkpoint')[0]?.detail).toMatch(/CHECKPOINT failed: .*crash of another server process|server closed the connection/);
    expect(result.documented.ok, `${result.documented.why}\n${why(result)}`).toBe(true);
  });

  it('with data_sync_retry = on: the retried checkpoint "succeeds", and after a crash amcheck finds the damaged file', async () => {
    const result = await run(withIoMethod(fsyncErrorRetry, method));
    record(result);
    if (ioUringRefused(method, result)) return;
    expectMethodInEffect(result, method);
    const [first, second] = fault(result, 'checkpoint');
    expect(first?.detail, why(result)).toMatch(/CHECKPOINT failed: .*ERROR/);
    expect(second?.detail).toBe('CHECKPOINT done');
    expect(check(result, 'integrity')?.valid, why(result)).toBe(false);
    expect(result.documented.ok, `${result.documented.why}\n${why(result)}`).toBe(true);
  });

  it('table reads fail for a second (direct I/O): the reading session gets the error, the server runs on, nothing is lost', async () => {
    const result = await run(withIoMethod(readError, method));
    record(result);
    if (ioUringRefused(method, result)) return;
    expectMethodInEffect(result, method);
    expect(fault(result, 'io-error')[0]?.detail, why(result)).toMatch(/pg-primary: [1-9]\d* calls failed; pg-primary still running/);
    expect(fault(result, 'scan')[0]?.detail, why(result)).toMatch(/scan failed: (ERROR|FATAL): +could not read blocks \d+\.\.\d+ in file "base\/[^"]+": Input\/output error/);
    expect(result.verdict, why(result)).toBe('pass');
    expect(result.writes.lost).toBe(0);
    expect(result.documented.ok, `${result.documented.why}\n${why(result)}`).toBe(true);
  });
});
