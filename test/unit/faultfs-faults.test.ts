// The faultfs faults' pure parts: which faultfs mode a schedule needs, their parameters checked
// before anything starts, and faultfs's status line read back.

import { describe, expect, it } from 'vitest';
import { planFaults } from '../../harness/experiment/index.ts';
import { defaultTopology } from '../../harness/engines/postgres/index.ts';
import { validateTopology } from '../../harness/engines/registry.ts';
import { ConfigError } from '../../harness/errors.ts';
import { faultfsFor } from '../../harness/faults/index.ts';
import { parseStatus } from '../../harness/faults/faultfs.ts';

const topology = validateTopology(defaultTopology);
const plan = (faults: Parameters<typeof planFaults>[0]) => planFaults(faults, topology, 1, 10_000);

describe('faultfs under the volumes', () => {
  it('is needed only by faults that work through it, and keeps un-synced data apart only when a fault drops it', () => {
    expect(faultfsFor(plan([{ at: '1s', fault: 'process-crash', target: 'primary' }]))).toBeUndefined();
    expect(faultfsFor(plan([{ at: '1s', fault: 'io-error', target: 'primary' }]))).toEqual({ lostWrites: false });
    expect(faultfsFor(plan([{ at: '1s', fault: 'io-error', target: 'primary', params: { clean: 'yes' } }]))).toEqual({ lostWrites: true });
    expect(faultfsFor(plan([{ at: '1s', fault: 'io-error', target: 'primary' }, { at: '2s', fault: 'power-loss', target: 'domain:san-a' }]))).toEqual({ lostWrites: true });
  });

  it('reads the status line into its fields', () => {
    expect(parseStatus('rules=1 error_rules=1 latency_rules=0 cached_bytes=4096 dirty_files=2 pending_dir_entries=0 lost_writes=on fsync_clean=off power_lost=no errors_injected=3')).toMatchObject({
      cached_bytes: '4096',
      errors_injected: '3',
      power_lost: 'no',
    });
  });
});

describe('io-error and power-loss parameters', () => {
  const bad = (faults: Parameters<typeof planFaults>[0]) => {
    try {
      plan(faults);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('takes a node or a whole domain, not a link', () => {
    expect(plan([{ at: '1s', fault: 'power-loss', target: 'domain:san-a' }])[0]?.target).toBe('domain:san-a');
    expect(bad([{ at: '1s', fault: 'power-loss', target: 'primary~replica' }])).toMatch(/cannot target a link/);
  });

  it('refuses an unknown operation, errno or torn mode, naming the choices', () => {
    expect(bad([{ at: '1s', fault: 'io-error', target: 'primary', params: { op: 'sync' } }])).toMatch(/'op' of 'io-error' must be one of fsync, write, read, open, any/);
    expect(bad([{ at: '1s', fault: 'io-error', target: 'primary', params: { errno: 'EPERM' } }])).toMatch(/EIO, ENOSPC, EROFS/);
    expect(bad([{ at: '1s', fault: 'power-loss', target: 'primary', params: { torn: 'half' } }])).toMatch(/none, seq, op/);
  });

  it('refuses a probability outside 0..1, a path with spaces and a path that is not a regular expression', () => {
    expect(bad([{ at: '1s', fault: 'io-error', target: 'primary', params: { probability: 2 } }])).toMatch(/'probability' .* a number from 0 to 1/);
    expect(bad([{ at: '1s', fault: 'io-error', target: 'primary', params: { path: 'pg data' } }])).toMatch(/without spaces/);
    expect(bad([{ at: '1s', fault: 'io-error', target: 'primary', params: { path: '^pgdata/(base' } }])).toMatch(/'path' is not a regular expression/);
    expect(plan([{ at: '1s', fault: 'io-error', target: 'primary', params: { path: '^pgdata/base/', probability: 0.5, count: 3 } }])[0]?.params).toMatchObject({ path: '^pgdata/base/', probability: 0.5, count: 3, op: 'fsync', errno: 'EIO' });
  });
});
