// faultfs under real clusters: each power-loss and I/O-error drill against its documented outcome
// (said per test), the canary that keeps a run from passing on a faultfs it could not trust, and
// an error rule that matched nothing counted as a fault without effect.

import { describe, expect, it } from 'vitest';
import { type ExperimentDefinition, type ExperimentResult } from '../../harness/experiment/index.ts';
import {
  fsyncError,
  fsyncErrorRetry,
  powerLoss,
  powerLossAsyncCommit,
  powerLossFsyncOff,
  sanCacheLoss,
  tornPageFpwOff,
  tornPageFpwOn,
} from '../../experiments/power-loss.ts';
import { redisPowerLossAlways, redisPowerLossEverysec, redisPowerLossNo } from '../../experiments/redis.ts';
import type { PostgresTopologySpec } from '../../harness/engines/postgres/index.ts';
import { check, run, why } from '../helpers.ts';

const fault = (result: ExperimentResult, name: string) => result.faults.filter((f) => f.name === name);

describe('power loss on PostgreSQL', () => {
  it('with the defaults: un-fsynced data is dropped, the server recovers, and no acknowledged write is lost', async () => {
    const result = await run(powerLoss);
    expect(result.verdict, why(result)).toBe('pass');
    expect(result.writes.acknowledged).toBeGreaterThan(500);
    const [cut] = fault(result, 'power-loss');
    expect(cut?.detail).toMatch(/pg-primary: [1-9]\d* un-synced bytes/);
    expect(cut?.detail).toMatch(/pg-primary restarted \(crash recovery\)/);
    expect(check(result, 'integrity')?.valid).toBe(true);
  });

  it('with fsync = off: acknowledged commits are lost, as documented', async () => {
    const result = await run(powerLossFsyncOff);
    expect(result.error, why(result)).toBeUndefined();
    expect(check(result, 'lost-writes')?.valid, why(result)).toBe(false);
    expect(result.writes.lost).toBeGreaterThan(0);
    expect(result.documented.ok, `${result.documented.why}\n${why(result)}`).toBe(true);
  });

  it('with synchronous_commit = off: the last commits are lost, a small part of the run', async () => {
    const result = await run(powerLossAsyncCommit);
    expect(check(result, 'lost-writes')?.valid, why(result)).toBe(false);
    expect(result.writes.lost).toBeGreaterThan(0);
    expect(result.writes.lost).toBeLessThan(result.writes.acknowledged / 2);
    expect(check(result, 'integrity')?.valid).toBe(true);
    expect(result.documented.ok, `${result.documented.why}\n${why(result)}`).toBe(true);
  });

  it('with recovery_init_sync_method = syncfs, which faultfs cannot see, a loss after the power cut is unknown, said so', async () => {
    const topology = powerLossFsyncOff.topology as PostgresTopologySpec;
    const syncfs = { ...topology, postgres: { ...topology.postgres!, settings: { ...topology.postgres!.settings, recovery_init_sync_method: 'syncfs' } } };
    const result = await run({ ...powerLossFsyncOff, name: 'power-loss-syncfs', topology: syncfs, shows: undefined });
    expect(result.error, why(result)).toBeUndefined();
    expect(result.writes.lost, why(result)).toBeGreaterThan(0);
    const lost = check(result, 'lost-writes');
    expect(lost?.valid, why(result)).toBe('unknown');
    expect(lost?.summary).toMatch(/not counted as a failure: pg-primary runs with recovery_init_sync_method = syncfs, and a syncfs never reaches faultfs/);
    expect(result.verdict).not.toBe('pass');
  });

  it('with full_page_writes = off and a torn write: the data checksums find the torn page', async () => {
    const result = await run(tornPageFpwOff);
    expect(result.error, why(result)).toBeUndefined();
    expect(check(result, 'integrity')?.valid, why(result)).toBe(false);
    expect(check(result, 'integrity')?.summary).toMatch(/page verification failed|invalid page|checksum/);
    expect(result.documented.ok, `${result.documented.why}\n${why(result)}`).toBe(true);
  });

  it('with full_page_writes on, the same torn write is repaired from its full-page image: nothing lost, no damage', async () => {
    const result = await run(tornPageFpwOn);
    expect(result.verdict, why(result)).toBe('pass');
    expect(fault(result, 'power-loss')[0]?.detail).toMatch(/torn=op/);
  });

  it('the other storage faults still act on the LUN under faultfs, and faultfs comes back after a rollback', async () => {
    const definition: ExperimentDefinition = {
      ...powerLoss,
      name: 'faultfs-with-storage-faults',
      workload: { clients: 2, duration: '7s' },
      faults: [
        { at: '1s', fault: 'io-stall', target: 'primary', duration: '500ms' },
        { at: '2s', fault: 'stale-snapshot', target: 'primary', duration: '1500ms' },
        { at: '5s', fault: 'power-loss', target: 'primary', duration: '500ms' },
      ],
    };
    const result = await run(definition);
    expect(result.error, why(result)).toBeUndefined();
    expect(check(result, 'faults-applied')?.valid, why(result)).toBe(true);
    expect(fault(result, 'io-stall')[0]?.detail).toMatch(/froze \/var\/lib\/faultline\/lun-data/);
    // The rollback loses what was acknowledged after the snapshot; the power loss after it found
    // faultfs stacked on the rolled-back LUN again (its canary passed).
    expect(check(result, 'lost-writes')?.valid).toBe(false);
    expect(fault(result, 'power-loss')[0]?.detail).toMatch(/power lost: pg-primary/);
  });

  it("Sidekick's SAN loses its cache under primary and replica at once: both drop their un-synced data, commits are lost", async () => {
    const result = await run(sanCacheLoss);
    const [cut] = fault(result, 'power-loss');
    expect(cut?.target).toBe('domain:san-a');
    expect(cut?.detail).toMatch(/pg-primary: \d+ un-synced bytes/);
    expect(cut?.detail).toMatch(/pg-replica: \d+ un-synced bytes/);
    expect(check(result, 'lost-writes')?.valid, why(result)).toBe(false);
    expect(result.documented.ok, `${result.documented.why}\n${why(result)}`).toBe(true);
  });
});

describe('fsync errors on PostgreSQL', () => {
  it('an fsync of a table file fails: PostgreSQL PANICs, recovers from the WAL, and loses nothing', async () => {
    const result = await run(fsyncError);
    expect(result.verdict, why(result)).toBe('pass');
    expect(fault(result, 'io-error')[0]?.detail).toMatch(/pg-primary: 1 calls failed/);
    // The checkpoint whose fsync failed took the server down with it: the PANIC.
    expect(fault(result, 'checkpoint')[0]?.detail).toMatch(/CHECKPOINT failed: .*crash of another server process|server closed the connection/);
  });

  it('with data_sync_retry = on: the retried checkpoint "succeeds", and after a crash amcheck finds the file that lost its pages', async () => {
    const result = await run(fsyncErrorRetry);
    const [first, second] = fault(result, 'checkpoint');
    expect(first?.detail).toMatch(/CHECKPOINT failed: .*ERROR/);
    expect(second?.detail).toBe('CHECKPOINT done');
    expect(check(result, 'integrity')?.valid, why(result)).toBe(false);
    expect(result.documented.ok, `${result.documented.why}\n${why(result)}`).toBe(true);
  });

  it('a faultfs that fails its canary is not trusted: the power is not cut and the run cannot pass', async () => {
    const definition: ExperimentDefinition = {
      ...powerLoss,
      name: 'power-loss-broken-faultfs',
      workload: { clients: 2, duration: '3s' },
      // faultfs dies under the primary before the power loss: the canary cannot prove anything.
      schedule: [{ at: '500ms', name: 'kill faultfs', target: 'primary', run: async ({ cluster }) => void (await cluster.primary().run(['pkill', '-KILL', '-x', 'faultfs'], { user: 'root' })) }],
      faults: [{ at: '1s', fault: 'power-loss', target: 'primary', duration: '500ms' }],
    };
    const result = await run(definition);
    expect(result.verdict).toBe('fail');
    const [cut] = fault(result, 'power-loss');
    expect(cut?.detail).toMatch(/power not cut: the faultfs canary failed on pg-primary/);
    expect(check(result, 'faults-applied')?.valid).toBe(false);
  });
});

describe('power loss on Redis', () => {
  it('appendfsync always: nothing acknowledged is lost', async () => {
    const result = await run(redisPowerLossAlways);
    expect(result.verdict, why(result)).toBe('pass');
    expect(result.writes.acknowledged).toBeGreaterThan(500);
    expect(fault(result, 'power-loss')[0]?.detail).toMatch(/redis-primary restarted/);
  });

  it('appendfsync everysec: about the last second of acknowledged writes is lost', async () => {
    const result = await run(redisPowerLossEverysec);
    expect(check(result, 'lost-writes')?.valid, why(result)).toBe(false);
    expect(result.writes.lost).toBeGreaterThan(0);
    // At most about a second (with margin) of the run's writes: not everything since the start.
    expect(result.writes.lost).toBeLessThan(result.writes.acknowledged / 3);
    expect(result.documented.ok, `${result.documented.why}\n${why(result)}`).toBe(true);
  });

  it('appendfsync no: every write the kernel was never made to flush is lost', async () => {
    const result = await run(redisPowerLossNo);
    expect(check(result, 'lost-writes')?.valid, why(result)).toBe(false);
    expect(result.writes.lost).toBeGreaterThan(result.writes.acknowledged / 3);
    expect(result.documented.ok, `${result.documented.why}\n${why(result)}`).toBe(true);
  });
});
