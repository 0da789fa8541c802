// Every check proves what it claims, on real containers, through the product's own code path
// (runExperiment): integrity names damaged tables and indexes, replica parity never passes a
// replica it did not compare, the archive follows a failover and a hole after it is found, the
// restore rehearsal neither cries wolf nor misses that hole, fencing is proven, a fault that had no
// effect cannot pass, targets are resolved when a fault fires, and a cancelled synchronous wait
// is counted as acknowledged.

import pg from 'pg';
import { asPostgres } from '../../harness/engines/postgres/index.ts';
import { describe, expect, it } from 'vitest';
import { type ExperimentDefinition, type ExperimentResult, type StepContext } from '../../harness/experiment/index.ts';
import type { TopologySpec } from '../../harness/engines/registry.ts';
import type { RecoveryEvent } from '../../harness/history/events.ts';
import type { IntegrityRun } from '../../harness/history/final-state.ts';
import { sleep } from '../../harness/wait.ts';
import pitrRestore from '../../experiments/pitr-restore.ts';
import { historyOf, requireCheck, run } from '../helpers.ts';

const recovery = (result: ExperimentResult, name: string) =>
  historyOf(result).find((e): e is RecoveryEvent => e.type === 'recovery' && e.phase === 'end' && e.name === name);

/** A client of the primary for a custom step (its own code, as a user would write one). */
async function primaryClient(cluster: StepContext['cluster']): Promise<pg.Client> {
  const client = new pg.Client({ ...asPostgres(cluster).primary().clientConfig(), connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  await client.connect();
  return client;
}

const primaryOnly: TopologySpec = { domains: ['san-a'], postgres: { nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }] } };
const synchronousPair: TopologySpec = {
  domains: ['san-a', 'san-b'],
  postgres: {
    nodes: [
      { name: 'pg-primary', role: 'primary', domain: 'san-a' },
      { name: 'pg-replica', role: 'replica', domain: 'san-b', synchronous: true },
    ],
  },
};

describe('integrity checks every table and index it names', () => {
  it.each([
    ['index', /btree index postgres\.public\.faultline_ledger_pkey\b/],
    ['heap', /heap table postgres\.public\.faultline_ledger\b/],
  ])('fails a run whose %s blocks were damaged, naming the relation', async (kind, relation) => {
    const result = await run(
      {
        name: `corrupt-${kind}`,
        description: `garbage in the ledger's ${kind}`,
        topology: primaryOnly,
        workload: { clients: 4, duration: '4s' },
        faults: [{ at: '2s', fault: 'silent-corruption', target: 'primary', params: { kind } }],
      },
      1,
    );
    const integrity = requireCheck(result, 'integrity');
    expect(integrity.valid).toBe(false);
    expect(integrity.summary).toMatch(relation);
    const runs = integrity.details.runs as IntegrityRun[];
    expect(runs.find((r) => r.node === 'pg-primary' && r.tool === 'pg_amcheck')!.exitCode).not.toBe(0);
    expect(requireCheck(result, 'faults-applied').valid).toBe(true);
    expect(result.verdict).toBe('fail');
  });
});

describe('after a failover', () => {
  // Two replicas; the primary dies and one is promoted. Then an I/O stall on 'primary' and a hole
  // in the archive, both after the failover.
  const definition: ExperimentDefinition = {
    name: 'failover-then-hole',
    description: 'failover with two replicas, then a stall on the new primary and a hole in the archive',
    topology: {
      domains: ['san-a', 'san-b', 'san-c', 'backup-site'],
      postgres: {
        nodes: [
          { name: 'pg-primary', role: 'primary', domain: 'san-a' },
          { name: 'pg-replica-a', role: 'replica', domain: 'san-b', synchronous: true },
          { name: 'pg-replica-b', role: 'replica', domain: 'san-c', synchronous: true },
          { name: 'pg-archive', role: 'archive', domain: 'backup-site' },
        ],
      },
    },
    workload: { clients: 4, duration: '6s' },
    freshBackupAt: '300ms',
    faults: [
      { at: '1500ms', fault: 'process-crash', target: 'primary', params: { restart: 'no' } },
      { at: '3500ms', fault: 'io-stall', target: 'primary', duration: '500ms' },
      { at: '4500ms', fault: 'archive-gap', target: 'archive' },
    ],
    recovery: { at: '2s', try: ['failover'], rehearseRestore: true },
  };

  it('points the other replica at the new primary, aims "primary" at the new primary, and finds the hole in the archive and in the rehearsal', async () => {
    const result = await run(definition, 2);
    const failover = recovery(result, 'failover')!;
    expect(failover.outcome).toBe('ok');
    const promoted = /^promoted (\S+) /.exec(failover.detail!)![1]!;
    const other = promoted === 'pg-replica-a' ? 'pg-replica-b' : 'pg-replica-a';
    expect(failover.detail).toContain(`${other} now follows ${promoted}`);
    expect(failover.detail).toMatch(/pg-primary fenced: pg-primary's server was killed and no postgres process is left|pg-primary fenced: pg-primary's container is not running/);

    // Item 3: the other replica streams from the new primary and is compared with it.
    const parity = requireCheck(result, 'replica-parity');
    expect(parity.valid).toBe(true);
    expect(parity.details.compared).toEqual([other]);

    // Item 9: 'primary' after the failover is the promoted replica.
    const stall = result.faults.find((f) => f.name === 'io-stall')!;
    expect(stall.target).toBe(promoted);
    expect(stall.notApplied).toBeUndefined();

    // Item 5: the archive followed the new primary, and the hole made after the failover is found.
    expect(recovery(result, 'archive-follow')).toMatchObject({ outcome: 'ok' });
    const gap = historyOf(result).find((e) => e.type === 'fault' && e.name === 'archive-gap' && e.phase === 'active') as { detail: string };
    const segment = /removed WAL segment ([0-9A-F]{24})/.exec(gap.detail)![1]!;
    expect(segment.slice(0, 8)).toBe('00000002'); // on the new timeline
    const continuity = requireCheck(result, 'archive-continuity');
    expect(continuity.valid).toBe(false);
    expect(continuity.summary).toContain(`has a hole on timeline 2: ${segment} missing`);

    // Item 6: the rehearsal restores up to the hole and says so; it does not pass on writes from before recovery.
    const rehearsal = requireCheck(result, 'restore-rehearsal');
    expect(rehearsal.valid).toBe(false);
    expect(rehearsal.summary).toMatch(new RegExp(`the WAL chain is broken: segment ${segment} missing`));
    expect(result.writes.lost).toBe(0); // the failover itself lost nothing: only the backup is broken
    expect(result.verdict).toBe('fail');
  });
});

describe('the archive and the rehearsal with pgBackRest after a failover', () => {
  it('follow the new primary and pass: the last segment is switched and archived before the backup is judged', async () => {
    const result = await run(
      {
        name: 'pgbackrest-failover-rehearsal',
        description: 'pgBackRest, a synchronous replica, failover, then a restore rehearsal',
        topology: {
          domains: ['san-a', 'san-b', 'backup-site'],
          postgres: {
            backupTool: 'pgbackrest', // archive_timeout stays at its 60 s default: only a switch archives the last segment in time
            nodes: [
              { name: 'pg-primary', role: 'primary', domain: 'san-a' },
              { name: 'pg-replica', role: 'replica', domain: 'san-b', synchronous: true },
              { name: 'pg-archive', role: 'archive', domain: 'backup-site' },
            ],
          },
        },
        workload: { clients: 4, duration: '9s' },
        freshBackupAt: '300ms',
        faults: [{ at: '6s', fault: 'process-crash', target: 'primary', params: { restart: 'no' } }],
        recovery: { at: '6500ms', try: ['failover'], rehearseRestore: true },
      },
      3,
    );
    expect(recovery(result, 'archive-follow')).toMatchObject({ outcome: 'ok' });
    expect(requireCheck(result, 'archive-continuity')).toMatchObject({ valid: true });
    expect(requireCheck(result, 'archive-continuity').summary).toMatch(/timeline 2's history/);
    const rehearsal = requireCheck(result, 'restore-rehearsal');
    expect(rehearsal.valid).toBe(true);
    expect(rehearsal.details.acknowledged).toBe(result.writes.acknowledged);
    expect(result.verdict).toBe('pass');
  });
});

describe('fencing', () => {
  it('kills a live old primary and proves it down before promoting, then checks its stopped data directory with pg_checksums', async () => {
    const result = await run(
      {
        name: 'failover-live-primary',
        description: 'fail over while the old primary still runs',
        topology: synchronousPair,
        workload: { clients: 4, duration: '4s' },
        recovery: { at: '2s', try: ['failover'] },
      },
      4,
    );
    expect(recovery(result, 'failover')!.detail).toMatch(/^promoted pg-replica \(received and flushed WAL up to [0-9A-F]+\/[0-9A-F]+\); pg-primary fenced: pg-primary's server was killed and no postgres process is left/);
    const runs = requireCheck(result, 'integrity').details.runs as IntegrityRun[];
    const old = runs.find((r) => r.node === 'pg-primary')!;
    expect(old).toMatchObject({ tool: 'pg_checksums', exitCode: 0 });
    expect(old.output).toMatch(/after crash recovery in single-user mode: .*Bad checksums:\s+0/s);
    expect(result.writes.lost).toBe(0);
    expect(result.verdict).toBe('pass');
  });
});

describe('fencing before a restore', () => {
  it('kills a live old primary before the restore begins, so that nothing it acknowledged is left out of the archive', async () => {
    const result = await run(
      {
        name: 'restore-live-primary',
        description: 'restore from the archive while the old primary still runs',
        topology: pitrRestore.topology, // the archive is synchronous: nothing acknowledged is missing from it
        workload: { clients: 4, duration: '5s' },
        freshBackupAt: '300ms',
        recovery: { at: '2500ms', try: ['restore'], restoreDomain: 'san-b' },
      },
      8,
    );
    const restore = recovery(result, 'restore')!;
    expect(restore.outcome).toBe('ok');
    expect(restore.detail).toMatch(/; pg-primary fenced first: pg-primary's server was killed and no postgres process is left$/);
    expect(result.writes.lost).toBe(0);
    expect(requireCheck(result, 'archive-continuity').valid).toBe(true);
    expect(result.verdict).toBe('pass');
  });
});

describe('replica parity', () => {
  it('fails when a replica cannot be read, instead of passing it uncompared', async () => {
    const result = await run(
      {
        name: 'replica-down',
        description: 'the replica server dies and stays down',
        topology: {
          domains: ['san-a', 'san-b'],
          postgres: { nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }, { name: 'pg-replica', role: 'replica', domain: 'san-b' }] },
        },
        workload: { clients: 2, duration: '3s' },
        faults: [{ at: '1s', fault: 'process-crash', target: 'replica', params: { restart: 'no' } }],
      },
      5,
    );
    const parity = requireCheck(result, 'replica-parity');
    expect(parity.valid).toBe(false);
    expect(parity.summary).toMatch(/^pg-replica could not be compared: /);
    expect(result.verdict).toBe('fail');
  });
});

describe('a fault that had no effect', () => {
  it('cannot pass: an I/O-error rule that no call matched is reported as no effect, and faults-applied fails', async () => {
    // The rule names a file PostgreSQL never opens: the fault ran, and tested nothing.
    const result = await run(
      {
        name: 'io-error-unmatched',
        description: 'an fsync error on a file that does not exist',
        topology: primaryOnly,
        workload: { clients: 2, duration: '4s', rate: 150 },
        faults: [{ at: '1500ms', fault: 'io-error', target: 'primary', duration: '1s', params: { op: 'fsync', path: '^no-such-file$' } }],
      },
      6,
    );
    const fault = result.faults.find((f) => f.name === 'io-error')!;
    expect(fault.notApplied).toMatch(/^no effect: no call matched \(fsync EIO on paths matching \^no-such-file\$\)/);
    const applied = requireCheck(result, 'faults-applied');
    expect(applied.valid).toBe(false);
    expect(applied.summary).toMatch(/io-error on pg-primary .*no effect/);
    expect(requireCheck(result, 'lost-writes').valid).toBe(true); // nothing was lost: the run just did not test what it claims
    expect(result.verdict).toBe('fail');
  });
});

describe('a cancelled synchronous wait', () => {
  it('is acknowledged with its warning, and a failover that loses such writes reports the loss and how many carried it', async () => {
    // The replica is cut off, so commits wait for it; an operator cancels the waiting sessions
    // (statement_timeout cannot: PostgreSQL disables it before the commit). Each cancelled commit
    // returns success with PostgreSQL's warning. Then the primary dies and the replica is promoted.
    const result = await run(
      {
        name: 'committed-locally',
        description: 'cancelled synchronous waits during a partition, then failover',
        topology: synchronousPair,
        workload: { clients: 4, duration: '6s' },
        faults: [
          { at: '1s', fault: 'partition', target: 'primary~replica', duration: '3s', disruptive: true },
          { at: '3500ms', fault: 'process-crash', target: 'primary', params: { restart: 'no' } },
        ],
        schedule: [
          {
            at: '1500ms',
            name: 'cancel commits waiting for the standby',
            target: 'pg-primary',
            run: async ({ cluster }) => {
              const client = await primaryClient(cluster);
              let cancelled = 0;
              try {
                for (const end = Date.now() + 1500; Date.now() < end; await sleep(100)) {
                  const { rows } = await client.query<{ n: string }>("SELECT count(pg_cancel_backend(pid))::text AS n FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
                  cancelled += Number(rows[0]!.n);
                }
              } finally {
                await client.end().catch(() => {});
              }
              return `cancelled ${cancelled} waits`;
            },
          },
        ],
        recovery: { at: '4s', try: ['failover'] },
      },
      7,
    );
    const lost = requireCheck(result, 'lost-writes');
    expect(lost.valid).toBe(false);
    expect(lost.details.lostWithWarning).toBeGreaterThan(0);
    expect(lost.summary).toMatch(/of them were acknowledged with the warning 'canceling wait for synchronous replication due to user request DETAIL: The transaction has already committed locally, but might not have been replicated to the standby\.'/);
    const warned = historyOf(result).filter((e) => e.type === 'ok' && 'warning' in e && e.warning);
    expect(warned.length).toBeGreaterThanOrEqual(lost.details.lostWithWarning as number);
    expect(result.verdict).toBe('fail');
  });
});
