// The validate drills as built on a topology: the names `--drill` and the help list are the drills
// there are, and the host-crash drills (power-loss, torn-write, fsync-error) run the shipped power-loss
// experiments' faults on the user's own settings, adding only what they say they add. No containers.
import { describe, expect, it } from 'vitest';
import { DRILL_NAMES, patroniDrills, validateDrills } from '../../../harness/validate/index.ts';
import { TORN_WRITE_ADDITIONS, withDrillSettings } from '../../../harness/validate/drills.ts';
import { notRestartedAfterPowerLoss } from '../../../harness/validate/explain.ts';
import { prepareExperiment } from '../../../harness/experiment/definition.ts';
import { defaultTopology, patroniTopology, validatePostgresTopology, type PostgresTopologySpec } from '../../../harness/engines/postgres/index.ts';
import { fsyncErrorRetry, powerLoss, tornPageFpwOff } from '../../../experiments/power-loss.ts';

const userSettings = { fsync: { value: 'off', source: 'postgresql.conf:3' }, full_page_writes: { value: 'off', source: 'postgresql.conf:4' }, shared_buffers: { value: '4GB', source: 'postgresql.conf:5' } };
const user: PostgresTopologySpec = { ...structuredClone(defaultTopology), postgres: { ...structuredClone(defaultTopology).postgres, settings: userSettings } };
const drill = (name: string) => validateDrills(user).find((d) => d.name === name)!;

describe('the validate drills', () => {
  it('are the ones --drill accepts and the help lists, in that order', () => {
    expect(validateDrills(defaultTopology).map((d) => d.name)).toEqual(DRILL_NAMES);
    expect(DRILL_NAMES.slice(0, 4)).toEqual(['crash', 'power-loss', 'torn-write', 'fsync-error']);
  });

  it('each prepare as an experiment on the default topology', () => {
    for (const d of validateDrills(user)) expect(() => prepareExperiment(d.definition), d.name).not.toThrow();
  });
});

describe('the power-loss drill', () => {
  it("cuts the primary's power as the power-loss experiment does (nothing torn), on the user's settings exactly", () => {
    expect(drill('power-loss').definition.faults).toEqual(powerLoss.faults);
    expect(drill('power-loss').definition.faults).toEqual([expect.objectContaining({ fault: 'power-loss', target: 'primary' })]);
    expect(drill('power-loss').definition.topology).toBe(user);
  });
});

describe('the torn-write drill', () => {
  it("cuts the primary's power mid-write (torn) as the torn-page experiments do", () => {
    expect(drill('torn-write').definition.faults).toEqual([expect.objectContaining({ fault: 'power-loss', target: 'primary', params: { torn: 'op' } })]);
    expect(drill('torn-write').definition.faults).toEqual(tornPageFpwOff.faults);
  });

  it("adds a small shared_buffers on the primary only, naming itself as its source, and runs every other setting as the user wrote it", () => {
    const topology = validatePostgresTopology(drill('torn-write').definition.topology, 'drill');
    expect(TORN_WRITE_ADDITIONS).toEqual({ shared_buffers: '256kB' });
    // The user's own lines reach every server unchanged; the drill's line comes after them on the primary alone.
    expect(topology.postgres.applied.server).toEqual(expect.arrayContaining(["fsync = 'off'", "full_page_writes = 'off'", "shared_buffers = '128MB'"]));
    expect(topology.postgres.applied.nodes).toEqual({ 'pg-primary': ["shared_buffers = '256kB'"] });
    expect(topology.postgres.nodes.find((n) => n.role === 'primary')!.settings).toEqual([{ name: 'shared_buffers', value: '256kB', source: 'the torn-write drill' }]);
    expect(drill('torn-write').definition.description).toMatch(/adds shared_buffers = 256kB on the primary \(in place of yours\).*every other setting is yours/);
    // The user's topology itself is left as it was: the other drills run it without the addition.
    expect(user.postgres.nodes.every((n) => n.settings === undefined)).toBe(true);
    expect(drill('crash').definition.topology).toBe(user);
  });

  it("keeps a primary's own per-node settings beside the addition", () => {
    const spec = withDrillSettings({ ...user, postgres: { ...user.postgres, nodes: user.postgres.nodes.map((n) => (n.role === 'primary' ? { ...n, settings: { work_mem: '8MB' } } : n)) } }, 'torn-write', { shared_buffers: '256kB' });
    expect(spec.postgres.nodes.find((n) => n.role === 'primary')!.settings).toEqual({ work_mem: '8MB', shared_buffers: { value: '256kB', source: 'the torn-write drill' } });
  });
});

describe('the fsync-error drill', () => {
  it('fails one table-file fsync with EIO (the kernel drops the pages), checkpoints, then crashes the primary, as fsync-error-retry does', () => {
    const { definition } = drill('fsync-error');
    expect(definition.faults).toEqual([
      expect.objectContaining({ fault: 'io-error', target: 'primary', params: { op: 'fsync', path: '^pgdata/base/', count: 1, clean: 'yes' } }),
      expect.objectContaining({ fault: 'process-crash', target: 'primary' }),
    ]);
    expect(definition.schedule).toBe(fsyncErrorRetry.schedule);
    expect(definition.schedule!.map((s) => s.name)).toEqual(['checkpoint', 'checkpoint']);
    // On the user's settings: nothing of the experiment's own (data_sync_retry = on) comes with it.
    expect(definition.topology).toBe(user);
  });
});

describe('a server the power loss left unable to start', () => {
  const detail = (healed: string) => [{ name: 'power-loss', target: 'pg-primary', startMs: 1, endMs: 2, detail: `power lost (torn=op): pg-primary: 9 un-synced bytes in 1 files and 0 directory changes dropped; healed: power back: ${healed}` }];

  it("is read from what the fault recorded, in the server's own FATAL words", () => {
    const healed =
      'pg-primary did not start again: 2026-12-06 10:09:32.964 UTC [91] pg-archive ERROR:  replication slot "pg_archive" already exists / 2026-12-06 10:09:38.772 UTC [145] FATAL:  invalid page in block 0 of relation base/5/1259; pg-replica restarted (crash recovery)';
    expect(notRestartedAfterPowerLoss(detail(healed))).toEqual([{ node: 'pg-primary', why: 'FATAL: invalid page in block 0 of relation base/5/1259' }]);
    // The SSH server started again after the servers is not part of their words.
    expect(notRestartedAfterPowerLoss(detail(`pg-primary did not start again: FATAL:  could not open file "x"; pg-archive's SSH server started again`))).toEqual([{ node: 'pg-primary', why: 'FATAL: could not open file "x"' }]);
  });

  it('is none when every server came back, or the fault was another', () => {
    expect(notRestartedAfterPowerLoss(detail('pg-primary restarted (crash recovery)'))).toEqual([]);
    expect(notRestartedAfterPowerLoss([{ name: 'process-crash', target: 'pg-primary', startMs: 1, endMs: 2, detail: 'x did not start again: y' }])).toEqual([]);
  });
});

describe('the HA drills under Patroni', () => {
  const seconds = (text: string | number | undefined) => Number(String(text).replace(/s$/, ''));
  const faults = (d: { faults?: unknown[] }) => (d.faults ?? []) as { at: string; fault: string; duration?: string }[];
  const timings = (ha: Parameters<typeof patroniTopology>[0]) => {
    const drills = patroniDrills(patroniTopology(ha));
    const frozen = drills.find((d) => d.name === 'ha-frozen-patroni')!.definition;
    return { workloads: drills.map((d) => seconds(d.definition.workload!.duration)), freeze: seconds(faults(frozen)[0]!.duration), drills };
  };

  it("last long enough for the user's ttl, loop_wait and retry_timeout: a failover and a replica's rejoin, then seconds of writes", () => {
    const short = timings({});
    expect(short.workloads).toEqual([41, 41, 41]);
    expect(short.freeze).toBe(26);
    // Patroni's own defaults: a freeze shorter than ttl + loop_wait would end before any replica may take the key.
    const defaults = timings({ ttl: 30, loop_wait: 10, retry_timeout: 10 });
    expect(defaults.workloads).toEqual([65, 65, 65]);
    expect(defaults.freeze).toBeGreaterThan(30 + 10);
    for (const d of defaults.drills) {
      expect(() => prepareExperiment(d.definition), d.name).not.toThrow();
      // The loss or the freeze, then the ttl and a loop, all inside the workload.
      const faultEnd = Math.max(...faults(d.definition).map((f) => seconds(f.at) + (f.fault === 'domain-loss' ? 30 + 10 : seconds(f.duration))));
      expect(seconds(d.definition.workload!.duration), d.name).toBeGreaterThan(faultEnd);
    }
  });
});
