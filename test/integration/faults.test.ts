import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { readFinalState, startPostgresCluster, type StartedPostgresCluster } from '../../harness/engines/postgres/index.ts';
import { defaultTopology, type PostgresTopologySpec } from '../../harness/engines/postgres/index.ts';
import { checkTarget, findFault, FaultUnavailable, resolveTarget, type Injected, type ParamValues } from '../../harness/faults/index.ts';
import { seededRandom } from '../../harness/random.ts';
import { runExperiment, type FaultStepSpec } from '../../harness/experiment/index.ts';
import { getEngine } from '../../harness/cluster/docker/index.ts';
import { nothingLeft, out, waitForNoLeftovers } from '../helpers.ts';

const primaryOnly: PostgresTopologySpec = { domains: ['san-a'], postgres: { nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }] } };
const runIds: string[] = [];

async function cluster(topology: PostgresTopologySpec = primaryOnly): Promise<StartedPostgresCluster> {
  const started = await startPostgresCluster(topology);
  runIds.push(started.runId);
  return started;
}

function inject(c: StartedPostgresCluster, fault: string, target: string, params: ParamValues = {}): Promise<Injected> {
  const f = findFault(fault)!;
  const defaults = Object.fromEntries(Object.entries(f.params).map(([k, p]) => [k, p.default!]));
  return f.inject({ cluster: c, random: seededRandom(11), log: () => {} }, resolveTarget(c, checkTarget(f, c.topology, target, 'test')), { ...defaults, ...params });
}

/** One statement on a fresh connection; resolves to 'ok' or the error message. */
async function sql(node: { clientConfig(): pg.ClientConfig }, text: string, timeoutMs = 10_000): Promise<string> {
  const client = new pg.Client({ ...node.clientConfig(), connectionTimeoutMillis: 3000, query_timeout: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(text);
    return 'ok';
  } catch (error) {
    return `error: ${(error as Error).message}`;
  } finally {
    void client.end().catch(() => {});
  }
}

/** A short experiment on the primary-only topology with one scheduled fault. */
async function runWithFault(fault: FaultStepSpec, workload: { clients: number; duration: string }, seed: number) {
  const result = await runExperiment(
    { name: `${fault.fault}-test`, description: `${fault.fault} on the primary`, topology: primaryOnly, workload, faults: [fault] },
    { outDir: out('faultline-faults-'), seed },
  );
  runIds.push(result.runId!);
  return result;
}

/** The product's final read of a cluster, and its integrity run on one node. */
async function integrityOf(c: StartedPostgresCluster, node: string) {
  const final = await readFinalState(c, { table: 'faultline_ledger', now: () => 0, catchUpTimeoutMs: 5000 });
  return final.integrity.find((r) => r.node === node)!;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

// After every fault test: nothing of the run remains (containers, network, volumes, loop devices).
// Clean-up would hang on a volume left frozen, so this also shows every freeze was thawed.
afterEach(async () => {
  for (const runId of runIds.splice(0)) {
    await (await getEngine()).docker.listContainers({ all: true }); // engine still answers
    expect(await waitForNoLeftovers(runId)).toEqual(nothingLeft);
  }
});

describe('storage faults on a real PostgreSQL volume', () => {
  it('io-stall: writes block while the volume is frozen and complete once it is thawed', async () => {
    await using c = await cluster();
    const primary = c.primary();
    expect(await sql(primary, 'CREATE TABLE t (x int)')).toBe('ok');
    const stall = await inject(c, 'io-stall', 'primary');
    let settled = false;
    const write = sql(primary, 'INSERT INTO t VALUES (1)', 60_000).then((r) => ((settled = true), r));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(settled).toBe(false); // still blocked after 2 s
    await stall.heal!();
    expect(await write).toBe('ok');
    expect(await primary.psql('SELECT count(*) FROM t')).toBe('1');
  });

  it('read-only: writes fail with the server’s EROFS error, and succeed again after heal', async () => {
    await using c = await cluster();
    const primary = c.primary();
    expect(await sql(primary, 'CREATE TABLE t (x int)')).toBe('ok');
    const fault = await inject(c, 'read-only', 'primary');
    const during = await sql(primary, 'INSERT INTO t SELECT g FROM generate_series(1, 100000) g');
    const log = (await primary.exec(['tail', '-n', '20', '/var/log/faultline/postgresql.log'])).stdout;
    expect(`${during}\n${log}`).toMatch(/Read-only file system/);
    expect(during).toMatch(/^error/);
    expect(await fault.heal!()).toMatch(/read-write again/);
    expect(await sql(primary, 'INSERT INTO t VALUES (1)')).toBe('ok');
  });

  it('disk-full: writes that need space fail with ENOSPC, and succeed again after heal', async () => {
    await using c = await cluster();
    const primary = c.primary();
    expect(await sql(primary, 'CREATE TABLE t (x text)')).toBe('ok');
    const fault = await inject(c, 'disk-full', 'primary');
    let failure = '';
    for (let i = 0; i < 400 && !failure; i++) {
      const result = await sql(primary, `INSERT INTO t SELECT repeat('x', 2000) FROM generate_series(1, 50)`);
      if (result !== 'ok') failure = result;
    }
    expect(failure).toMatch(/No space left on device/);
    await fault.heal!();
    expect(await eventually(async () => (await sql(primary, 'INSERT INTO t VALUES (1)')) === 'ok')).toBe(true);
  });

  it('silent-corruption: damaged heap blocks are caught by data checksums on read and by pg_amcheck', async () => {
    await using c = await cluster();
    const primary = c.primary();
    await primary.psql("CREATE TABLE faultline_ledger (key bigint PRIMARY KEY, value text NOT NULL); INSERT INTO faultline_ledger SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
    const fault = await inject(c, 'silent-corruption', 'primary', { kind: 'heap', blocks: 3 });
    expect(fault.detail).toMatch(/server restarted/);
    expect(fault.noEffect).toBeUndefined();
    const read = await sql(primary, 'SELECT count(*) FROM faultline_ledger');
    expect(read).toMatch(/invalid page in block \d+ of relation/);
    // The product's own final read, which runs pg_amcheck as every run does.
    const amcheck = await integrityOf(c, 'pg-primary');
    expect(amcheck.exitCode).not.toBe(0);
    expect(amcheck.output).toMatch(/heap table "postgres\.public\.faultline_ledger"/);
  });

  it('silent-corruption of an index: the heap reads fine, pg_amcheck finds the damaged index', async () => {
    await using c = await cluster();
    const primary = c.primary();
    await primary.psql("CREATE TABLE faultline_ledger (key bigint PRIMARY KEY, value text NOT NULL); INSERT INTO faultline_ledger SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
    const fault = await inject(c, 'silent-corruption', 'primary', { kind: 'index', blocks: 3 });
    expect(fault.detail).toMatch(/base\/\d+\/\d+ on pg-primary .*server restarted/);
    expect(fault.noEffect).toBeUndefined();
    expect(await sql(primary, 'SELECT count(*) FROM faultline_ledger')).toBe('ok'); // a sequential scan never reads the index
    const amcheck = await integrityOf(c, 'pg-primary');
    expect(amcheck.exitCode).not.toBe(0);
    expect(amcheck.output).toMatch(/btree index "postgres\.public\.faultline_ledger_pkey"/);
  });

  it('silent-corruption of recent WAL: crash recovery stops at the damage and committed transactions vanish', async () => {
    await using c = await cluster();
    const primary = c.primary();
    await primary.psql('CREATE TABLE faultline_ledger (key bigint PRIMARY KEY, value text NOT NULL); CHECKPOINT');
    // 40 transactions of 2000 rows, each committed (acknowledged) on its own, all after the checkpoint.
    for (let batch = 0; batch < 40; batch++) {
      await primary.psql(`INSERT INTO faultline_ledger SELECT g, md5(g::text) FROM generate_series(${batch * 2000 + 1}, ${(batch + 1) * 2000}) g`);
    }
    const fault = await inject(c, 'silent-corruption', 'primary', { kind: 'wal', blocks: 1 });
    expect(fault.detail).toMatch(/pg_wal\/[0-9A-F]{24} on pg-primary .*server restarted/);
    expect(fault.noEffect).toBeUndefined(); // crash recovery stopped at the damage, before the WAL's end
    // The server comes back (it takes the damage for the end of its WAL), without the last commits.
    expect(Number(await primary.psql('SELECT count(*) FROM faultline_ledger'))).toBeLessThan(80_000);
    const log = (await primary.exec(['cat', '/var/log/faultline/postgresql.log'])).stdout;
    expect(log).toMatch(/redo done at/);
  });

  it('silent-corruption of pg_control: the server refuses to start again, and says why', async () => {
    await using c = await cluster();
    const fault = await inject(c, 'silent-corruption', 'primary', { kind: 'pg_control' });
    expect(fault.detail).toMatch(/global\/pg_control on pg-primary .*server does not start again/);
    expect(fault.noEffect).toBeUndefined();
    const log = (await c.primary().exec(['cat', '/var/log/faultline/postgresql.log'])).stdout;
    expect(log).toMatch(/incorrect checksum in control file/);
  });

  it('stale-snapshot: the volume comes back old; checksums pass, but the ledger reports acknowledged writes lost', async () => {
    const result = await runWithFault({ at: '1500ms', fault: 'stale-snapshot', target: 'primary', duration: '2s' }, { clients: 4, duration: '6s' }, 5);
    expect(result.faults[0]).toMatchObject({ name: 'stale-snapshot', target: 'pg-primary' });
    expect(result.faults[0]!.detail).toMatch(/rolled back to the snapshot/);
    expect(result.writes.lost).toBeGreaterThan(0);
    expect(result.checks.find((c) => c.name === 'integrity')!.valid).toBe(true);
    expect(result.checks.find((c) => c.name === 'restore-completed')!.valid).toBe(true);
    expect(result.verdict).toBe('fail');
  });

  it('volume-loss: the node’s volume is gone and its server cannot start again', async () => {
    await using c = await cluster();
    const primary = c.primary();
    const fault = await inject(c, 'volume-loss', 'primary');
    expect(fault.heal).toBeUndefined();
    expect(primary.lost).toBe(true);
    expect((await primary.exec(['fl-pg', 'start'])).exitCode).not.toBe(0);
    expect((await primary.exec(['fl-lun', 'info', '/var/lib/faultline/data'], { user: 'root' })).exitCode).not.toBe(0);
    expect((await primary.exec(['sh', '-c', 'ls /domains/san-a/*.img'], { user: 'root' })).exitCode).not.toBe(0);
  });

  it('domain-loss: exactly the nodes and volume of that domain are lost, and nothing else', async () => {
    await using c = await cluster(defaultTopology);
    const { docker } = c.run.engine;
    await inject(c, 'domain-loss', 'domain:san-b');
    const replica = c.node('pg-replica');
    expect(replica.lost).toBe(true);
    await expect(docker.getContainer(replica.container.getId()).inspect()).rejects.toThrow(/no such container/i);
    const volumes = ((await docker.listVolumes()).Volumes ?? []).map((v) => v.Name);
    expect(volumes).not.toContain(c.run.volumeName('san-b'));
    expect(volumes).toContain(c.run.volumeName('san-a'));
    expect(volumes).toContain(c.run.volumeName('backup-site'));
    for (const name of ['pg-primary', 'pg-archive']) {
      const node = c.node(name);
      expect(node.lost).toBe(false);
      expect((await docker.getContainer(node.container.getId()).inspect()).State.Running).toBe(true);
      expect((await node.exec(['fl-lun', 'info', '/var/lib/faultline/data'], { user: 'root' })).exitCode).toBe(0);
    }
    expect(await sql(c.primary(), 'CREATE TABLE after_loss (x int)')).toBe('ok');
  });

  it('process-crash: the server is killed, and healing restarts it with crash recovery', async () => {
    await using c = await cluster();
    const primary = c.primary();
    expect(await sql(primary, 'CREATE TABLE t (x int); INSERT INTO t VALUES (1)')).toBe('ok');
    const fault = await inject(c, 'process-crash', 'primary');
    expect(await primary.serverRunning()).toBe(false);
    expect(await sql(primary, 'SELECT 1')).toMatch(/^error/);
    expect(await fault.heal!()).toMatch(/restarted/);
    expect(await primary.psql('SELECT count(*) FROM t')).toBe('1');
  });

  it('pause: the paused node answers nothing until it is resumed', async () => {
    await using c = await cluster();
    const primary = c.primary();
    const fault = await inject(c, 'pause', 'primary');
    expect(await sql(primary, 'SELECT 1', 1500)).toMatch(/^error/);
    await fault.heal!();
    expect(await sql(primary, 'SELECT 1')).toBe('ok');
  });

  it('partition: replication stops while primary and replica are cut off, and resumes after heal', async () => {
    await using c = await cluster({ ...defaultTopology, postgres: { nodes: defaultTopology.postgres.nodes.slice(0, 2) }, domains: ['san-a', 'san-b'] });
    const primary = c.primary();
    const replica = c.replicas()[0]!;
    await primary.psql('CREATE TABLE t (x int)');
    expect(await eventually(async () => (await sql(replica, 'SELECT * FROM t')) === 'ok')).toBe(true);
    const fault = await inject(c, 'partition', 'primary~replica');
    await primary.psql('INSERT INTO t VALUES (1)');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await replica.psql('SELECT count(*) FROM t')).toBe('0');
    await fault.heal!();
    expect(await eventually(async () => (await replica.psql('SELECT count(*) FROM t')) === '1', 60_000)).toBe(true);
  });

  it('latency: adds delay where the kernel has netem, and otherwise says why it cannot run', async () => {
    await using c = await cluster({ ...defaultTopology, postgres: { nodes: defaultTopology.postgres.nodes.slice(0, 2) }, domains: ['san-a', 'san-b'] });
    const replica = c.replicas()[0]!;
    const rtt = async () => {
      const out = await replica.exec(['bash', '-c', 'psql -XAt -h pg-primary -c "\\timing on" -c "SELECT 1" | grep -o "Time: [0-9.]*"'], {});
      return Number(out.stdout.replace('Time: ', ''));
    };
    let injected: Injected | undefined;
    try {
      injected = await inject(c, 'latency', 'primary', { delay: '200ms' });
    } catch (error) {
      expect(error).toBeInstanceOf(FaultUnavailable);
      expect((error as Error).message).toMatch(/netem/);
      return;
    }
    expect(await rtt()).toBeGreaterThan(150);
    await injected.heal!();
  });
});

describe('a run whose fault cannot run here', () => {
  it('records the fault as skipped with the reason, never as done, and cannot pass unless the fault was optional', async () => {
    const result = await runWithFault({ at: '500ms', fault: 'latency', target: 'primary', duration: '1s' }, { clients: 2, duration: '2s' }, 1);
    const fault = result.faults[0]!;
    const applied = result.checks.find((c) => c.name === 'faults-applied')!;
    // Either the kernel has netem and the fault ran and was healed, or it says why it was skipped.
    if (fault.skipped) {
      expect(fault.skipped).toMatch(/netem/);
      expect(applied.valid).toBe(false);
      expect(result.verdict).toBe('fail');
      const optional = await runWithFault({ at: '500ms', fault: 'latency', target: 'primary', duration: '1s', optional: true }, { clients: 2, duration: '2s' }, 1);
      expect(optional.faults[0]).toMatchObject({ optional: true });
      expect(optional.checks.find((c) => c.name === 'faults-applied')!.valid).toBe('skipped');
      expect(optional.verdict).toBe('pass');
    } else {
      expect(fault.detail).toMatch(/healed/);
      expect(applied.valid).toBe(true);
    }
    expect(result.writes.lost).toBe(0);
  });
});
