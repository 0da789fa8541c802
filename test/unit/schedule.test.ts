import { describe, expect, it } from 'vitest';
import { planFaults, prepareExperiment, type FaultSpec } from '../../harness/experiment/index.ts';
import { defaultTopology } from '../../harness/engines/postgres/index.ts';
import { validateTopology } from '../../harness/engines/registry.ts';
import { ConfigError } from '../../harness/errors.ts';

const topology = validateTopology(defaultTopology);
const randomSpec: FaultSpec[] = [
  { random: { faults: ['io-stall', 'process-crash', 'pause'], targets: ['primary', 'replica'], count: 8, from: '1s', to: '20s', duration: '2s' } },
  { at: '5s', fault: 'partition', target: 'primary~replica' },
];

describe('the fault schedule', () => {
  it('accepts a fault on a node of the role it acts on, by role or by name', () => {
    expect(planFaults([{ at: '1s', fault: 'archive-gap', target: 'archive' }], topology, 0, 10_000).map((f) => f.target)).toEqual(['archive']);
    expect(planFaults([{ at: '1s', fault: 'archive-gap', target: 'pg-archive' }], topology, 0, 10_000).map((f) => f.target)).toEqual(['pg-archive']);
  });

  it('is the same for the same seed', () => {
    expect(planFaults(randomSpec, topology, 1234, 30_000)).toEqual(planFaults(randomSpec, topology, 1234, 30_000));
  });

  it('differs for another seed, and stays sorted by time within bounds', () => {
    const a = planFaults(randomSpec, topology, 1, 30_000);
    const b = planFaults(randomSpec, topology, 2, 30_000);
    expect(a).not.toEqual(b);
    expect(a.map((f) => f.atMs)).toEqual([...a.map((f) => f.atMs)].sort((x, y) => x - y));
    expect(a.filter((f) => f.fault !== 'partition').every((f) => f.atMs >= 1000 && f.atMs <= 20_000)).toBe(true);
  });

  it('keeps roles for the moment the fault fires (after a failover the primary is another node), and fills in defaults', () => {
    expect(planFaults([{ at: '2s', fault: 'io-stall', target: 'primary' }], topology, 0, 10_000)).toEqual([
      { atMs: 2000, fault: 'io-stall', target: 'primary', durationMs: 3000, params: {}, disruptive: true, optional: false },
    ]);
    expect(planFaults([{ at: '2s', fault: 'partition', target: 'primary~pg-replica', optional: true }], topology, 0, 10_000)[0]).toMatchObject({ target: 'primary~pg-replica', optional: true });
    expect(planFaults([{ at: 0, fault: 'silent-corruption', target: 'pg-replica', params: { kind: 'index' } }], topology, 0, 10_000)[0]!.params).toEqual({
      kind: 'index',
      blocks: 3,
      bytes: 32,
      evict: 'restart',
      table: 'faultline_ledger',
    });
  });

  const refuse = (faults: FaultSpec[], message: RegExp) => {
    const definition = { name: 'bad', description: 'x', topology: defaultTopology, faults };
    expect(() => prepareExperiment(definition)).toThrow(ConfigError);
    expect(() => prepareExperiment(definition)).toThrow(message);
  };

  it('refuses an unknown fault, naming the known ones', () => {
    refuse([{ at: '1s', fault: 'meteor-strike', target: 'primary' }], /unknown fault 'meteor-strike'. Known faults: io-stall, read-only/);
  });

  it('refuses a target that does not exist, or that the fault cannot take', () => {
    refuse([{ at: '1s', fault: 'io-stall', target: 'pg-tertiary' }], /target 'pg-tertiary' does not exist: use a node \(pg-primary, pg-replica, pg-archive\)/);
    refuse([{ at: '1s', fault: 'domain-loss', target: 'domain:san-z' }], /no failure domain 'san-z' \(declared: san-a, san-b, backup-site\)/);
    refuse([{ at: '1s', fault: 'io-stall', target: 'domain:san-a' }], /'io-stall' cannot target a domain/);
    refuse([{ at: '1s', fault: 'partition', target: 'primary~primary' }], /joins node 'primary' to itself/);
    refuse([{ at: '1s', fault: 'io-stall', target: 'primary', optional: 'yes' as unknown as boolean }], /optional must be true or false, got "yes"/);
  });

  it('refuses a duration that is not a duration, and bad parameters', () => {
    refuse([{ at: 'soon', fault: 'io-stall', target: 'primary' }], /at must be a duration like '500ms', '3s' or '1m': got "soon"/);
    refuse([{ at: '1s', fault: 'io-stall', target: 'primary', duration: '3 fortnights' }], /duration must be a duration/);
    refuse([{ at: '1s', fault: 'silent-corruption', target: 'primary', params: { kind: 'superblock' } }], /the PostgreSQL engine has no corruption kind 'superblock': use heap, index, wal, pg_control/);
    refuse([{ at: '1s', fault: 'io-stall', target: 'primary', params: { speed: 3 } }], /has no parameter 'speed' \(it has: volume\)/);
    refuse([{ at: '1s', fault: 'volume-loss', target: 'primary', params: { speed: 3 } }], /has no parameter 'speed' \(it takes none\)/);
    // A volume besides the node's own exists only where the engine gives one (a Patroni member's etcd).
    refuse([{ at: '1s', fault: 'io-stall', target: 'primary', params: { volume: 'etcd' } }], /parameter 'volume' is 'etcd', but no node of this topology has such a volume besides its own \(none has any\); leave it out to act on the node's own volume/);
    refuse([{ at: '1m', fault: 'io-stall', target: 'primary' }], /after the workload ends/);
    refuse([{ at: '1s', fault: 'archive-gap', target: 'primary' }], /acts on a node with role archive, but the target is the role 'primary': target 'pg-archive'/);
    refuse([{ at: '1s', fault: 'archive-gap', target: 'pg-primary' }], /acts on a node with role archive, but 'pg-primary' is the primary: target 'pg-archive'/);
  });
});
