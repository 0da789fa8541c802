// The faultfs faults' pure parts: which faultfs mode a schedule needs, their parameters checked
// before anything starts, faultfs's status line read back, and which volume's faultfs a fault
// talks to on a node with more than one (a fake node that records the commands it is given).

import { describe, expect, it } from 'vitest';
import { planFaults } from '../../harness/experiment/index.ts';
import { defaultTopology, patroniTopology } from '../../harness/engines/postgres/index.ts';
import type { ClusterNode } from '../../harness/cluster/engine.ts';
import { ioError } from '../../harness/faults/io-error.ts';
import { validateTopology } from '../../harness/engines/registry.ts';
import { ConfigError } from '../../harness/errors.ts';
import { faultfsFor } from '../../harness/faults/index.ts';
import { cutPower, parseStatus } from '../../harness/faults/faultfs.ts';

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

const bad = (faults: Parameters<typeof planFaults>[0]) => {
  try {
    plan(faults);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('io-error and power-loss parameters', () => {

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

describe("a node's volumes besides its own (a Patroni member's etcd)", () => {
  const lun = (name: string, mountPoint: string, socket: string) => ({
    name,
    domain: 'san-b',
    mountPoint,
    bytes: 1,
    owner: 'postgres:postgres',
    imagePath: `/domains/san-b/pg-b-${name}.r.img`,
    volume: 'v',
    fsMount: `/var/lib/faultline/lun-${name}`,
    faultfs: { lostWrites: true, socket },
  });
  /** A node with a data and an etcd volume, each with faultfs; records every command it is asked to run. */
  function member(replies: (command: string[]) => string) {
    const commands: string[][] = [];
    const luns = [lun('data', '/var/lib/faultline/data', '/run/faultfs.sock'), lun('etcd', '/var/lib/faultline/etcd', '/run/faultfs-etcd.sock')];
    const record = (command: string[]) => {
      commands.push(command);
      return { node: 'pg-b', command, exitCode: 0, stdout: replies(command), stderr: '', durationMs: 1 };
    };
    const node = { name: 'pg-b', lost: false, owner: 'postgres:postgres', volume: luns[0], luns, exec: async (c: string[]) => record(c), run: async (c: string[]) => record(c), serverRunning: async () => true };
    return { node: node as unknown as ClusterNode, commands };
  }

  it("refuses, before anything starts, a volume no node of the topology has, and takes 'etcd' under Patroni", () => {
    expect(bad([{ at: '1s', fault: 'io-stall', target: 'primary', params: { volume: 'etcd' } }])).toMatch(/no node of this topology has such a volume besides its own \(none has any\)/);
    const patroni = validateTopology(patroniTopology());
    expect(patroni.nodes.map((n) => n.volumes)).toEqual([['etcd'], ['etcd'], ['etcd']]);
    expect(planFaults([{ at: '1s', fault: 'disk-full', target: 'pg-b', params: { volume: 'etcd' } }], patroni, 1, 10_000)[0]?.params).toMatchObject({ volume: 'etcd' });
    expect(() => planFaults([{ at: '1s', fault: 'io-error', target: 'pg-b', params: { volume: 'wal' } }], patroni, 1, 10_000)).toThrow(/'volume' is 'wal', but no node of this topology has such a volume besides its own \(pg-a: etcd; pg-b: etcd; pg-c: etcd\)/);
  });

  it("io-error with volume 'etcd' installs, counts and removes its rule through that volume's faultfs only", async () => {
    let injected = 0;
    const { node, commands } = member((c) => {
      if (c[2] === 'error') return 'ok rule 7';
      if (c[2] === 'status') return `ok rules=1 errors_injected=${injected}`;
      return 'ok';
    });
    const target = { kind: 'node' as const, label: 'pg-b', node };
    const injectedFault = await ioError.inject({} as never, target, { op: 'fsync', errno: 'EIO', probability: 1, clean: 'no', volume: 'etcd' });
    injected = 2;
    const healed = await injectedFault.heal!();
    const sockets = commands.filter((c) => c[0] === 'faultfs-ctl').map((c) => `${c[1]} ${c[2]}`);
    // The canary proves every volume with faultfs; the rule goes to the etcd volume's faultfs alone.
    expect(sockets).toEqual(['/run/faultfs.sock canary', '/run/faultfs-etcd.sock canary', '/run/faultfs-etcd.sock status', '/run/faultfs-etcd.sock error', '/run/faultfs-etcd.sock remove', '/run/faultfs-etcd.sock status']);
    expect(injectedFault.detail).toBe("fsync EIO on pg-b (volume 'etcd')");
    expect(typeof healed === 'object' && healed ? healed.detail : healed).toMatch(/^pg-b: 2 calls failed; /);
  });

  it('a power loss drops what every volume of the node never fsynced, and reads back each one', async () => {
    const { node, commands } = member(() =>
      ['lun /var/lib/faultline/lun-data', 'ok rules=0 cached_bytes=4096 dirty_files=2 pending_dir_entries=1', 'ok', 'lun /var/lib/faultline/lun-etcd', 'ok rules=0 cached_bytes=512 dirty_files=1 pending_dir_entries=0', 'ok'].join('\n'),
    );
    const cut = await cutPower(node, 'none', 5);
    expect(commands).toEqual([['fl-lun', 'power-loss', '/var/lib/faultline/lun-data,/var/lib/faultline/lun-etcd', 'none', 'postgres', '5']]);
    expect(cut).toEqual([
      { lun: 'data', status: { rules: '0', cached_bytes: '4096', dirty_files: '2', pending_dir_entries: '1' } },
      { lun: 'etcd', status: { rules: '0', cached_bytes: '512', dirty_files: '1', pending_dir_entries: '0' } },
    ]);
  });
});
