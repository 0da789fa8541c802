import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgresCluster, type StartedPostgresCluster } from '../../harness/engines/postgres/index.ts';
import { defaultTopology } from '../../harness/engines/postgres/index.ts';
import { VOLUME_MOUNT, PGDATA } from '../../harness/engines/postgres/postgres-node.ts';
import { nothingLeft, waitForNoLeftovers } from '../helpers.ts';

async function query<T extends pg.QueryResultRow>(config: pg.ClientConfig, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

describe('a PostgreSQL primary, streaming replica and WAL archive on separate SAN volumes', () => {
  let cluster: StartedPostgresCluster;

  beforeAll(async () => {
    cluster = await startPostgresCluster(defaultTopology);
  });

  afterAll(async () => {
    if (!cluster) return;
    const runId = cluster.runId;
    await cluster.stop();
    expect(await waitForNoLeftovers(runId)).toEqual(nothingLeft);
  });

  it('replicates every row written on the primary to the replica', async () => {
    const primary = cluster.primary().clientConfig();
    await query(primary, 'CREATE TABLE ledger (id int PRIMARY KEY, payload text NOT NULL)');
    await query(primary, "INSERT INTO ledger SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
    const expected = await query<{ id: number; payload: string }>(primary, 'SELECT id, payload FROM ledger ORDER BY id');
    expect(expected).toHaveLength(1000);

    const replica = cluster.replicas()[0]!.clientConfig();
    const deadline = Date.now() + 30_000;
    let seen: Array<{ id: number; payload: string }> = [];
    while (Date.now() < deadline) {
      seen = await query<{ id: number; payload: string }>(replica, 'SELECT id, payload FROM ledger ORDER BY id').catch(() => []);
      if (seen.length === expected.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(seen).toEqual(expected);
    // And the replica really is a standby fed by streaming replication.
    const [receiver] = await query<{ status: string; in_recovery: boolean }>(
      replica,
      'SELECT status, pg_is_in_recovery() AS in_recovery FROM pg_stat_wal_receiver',
    );
    expect(receiver).toEqual({ status: 'streaming', in_recovery: true });
  });

  it('keeps data checksums on, and one replication slot per follower', async () => {
    const primary = cluster.primary();
    expect(await primary.psql('SHOW data_checksums')).toBe('on');
    const slots = (await primary.psql('SELECT slot_name || \':\' || active FROM pg_replication_slots ORDER BY 1')).split('\n');
    expect(slots).toEqual(['pg_archive:true', 'pg_replica:true']);
  });

  it("puts the primary's data, the replica's data and the archive on three different mounts in the topology's domains", async () => {
    const seen = await Promise.all(
      cluster.nodes.map(async (node) => {
        // What the kernel says: the loop device behind the node's volume, and the image file it reads.
        const [device, backingFile] = (await node.run(['fl-lun', 'info', VOLUME_MOUNT], { user: 'root' })).stdout.trim().split(' ');
        const dataDir = node.spec.role === 'archive' ? `${VOLUME_MOUNT}/wal` : PGDATA;
        const dataSource = (await node.run(['findmnt', '-n', '-o', 'SOURCE', '--target', dataDir], { user: 'root' })).stdout.trim();
        const fsType = (await node.run(['findmnt', '-n', '-o', 'FSTYPE', VOLUME_MOUNT], { user: 'root' })).stdout.trim();
        // What Docker says: the named volume mounted as the domain directory holding the image file.
        const inspect = await cluster.run.engine.docker.getContainer(node.container.getId()).inspect();
        const domainDir = backingFile!.split('/').slice(0, 3).join('/');
        const volume = inspect.Mounts.find((m) => m.Destination === domainDir)?.Name;
        return { node: node.name, device, backingFile, dataSource, fsType, domainDir, volume };
      }),
    );
    for (const mount of seen) {
      const node = cluster.node(mount.node);
      expect(mount.device).toMatch(/^\/dev\/loop\d+$/);
      expect(mount.dataSource).toBe(mount.device); // the data directory lives on that loop mount
      expect(mount.fsType).toBe('ext4');
      expect(mount.domainDir).toBe(`/domains/${node.spec.domain}`);
      expect(mount.volume).toBe(cluster.run.volumeName(node.spec.domain));
    }
    expect(new Set(seen.map((m) => m.device)).size).toBe(3);
    expect(new Set(seen.map((m) => m.backingFile)).size).toBe(3);
    expect(new Set(seen.map((m) => m.volume)).size).toBe(3);
    expect(Object.fromEntries(seen.map((m) => [m.node, m.domainDir]))).toEqual({
      'pg-primary': '/domains/san-a',
      'pg-replica': '/domains/san-b',
      'pg-archive': '/domains/backup-site',
    });
  });

  it('archives WAL segments on the archive node when the primary switches segments', async () => {
    const primary = cluster.primary();
    const archive = cluster.archive()!;
    await primary.psql('INSERT INTO ledger SELECT g, md5(g::text) FROM generate_series(1001, 2000) g');
    const segment = await primary.psql('SELECT pg_walfile_name(pg_current_wal_lsn())');
    await primary.psql('SELECT pg_switch_wal()');
    const deadline = Date.now() + 30_000;
    let files: string[] = [];
    while (Date.now() < deadline) {
      files = (await archive.run(['ls', `${VOLUME_MOUNT}/wal`])).stdout.trim().split('\n');
      if (files.includes(segment)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(files).toContain(segment);
    // A complete segment, not a partial one: 16 MiB on the archive's own volume.
    const size = (await archive.run(['stat', '-c', '%s', `${VOLUME_MOUNT}/wal/${segment}`])).stdout.trim();
    expect(Number(size)).toBe(16 * 1024 * 1024);
  });
});

describe('a primary whose settings make every commit wait for a synchronous standby', () => {
  it("starts anyway (the primary's password is set before any standby exists) and answers over the network with its SCRAM password", async () => {
    const cluster = await startPostgresCluster({
      domains: ['san-a', 'san-b'],
      postgres: {
        nodes: [
          { name: 'pg-primary', role: 'primary', domain: 'san-a' },
          { name: 'pg-replica', role: 'replica', domain: 'san-b', synchronous: true },
        ],
        settings: { password_encryption: 'md5' },
      },
    });
    try {
      const primary = cluster.primary().clientConfig();
      const rows = await query<{ standbys: string; stored: string }>(
        primary,
        "SELECT current_setting('synchronous_standby_names') AS standbys, (SELECT left(rolpassword, 13) FROM pg_authid WHERE rolname = 'postgres') AS stored",
      );
      expect(rows).toEqual([{ standbys: 'ANY 1 ("pg-replica")', stored: 'SCRAM-SHA-256' }]);
      // A commit now waits for the replica, and comes back: the standby the password did not wait for is there.
      await query(primary, 'CREATE TABLE t (id int)');
      expect(await query(cluster.replicas()[0]!.clientConfig(), "SELECT to_regclass('t')::text AS t")).toEqual([{ t: 't' }]);
    } finally {
      await cluster.stop();
      expect(await waitForNoLeftovers(cluster.runId)).toEqual(nothingLeft);
    }
  }, 120_000);
});

describe('a replica of a primary whose settings are below PostgreSQL defaults a standby must match', () => {
  it('starts as a streaming standby with those settings, a clone of the primary', async () => {
    // A standby refuses to start when max_connections (and the like) are lower than the values
    // recorded in its data directory; the replica's comes from the image, not from the primary.
    const settings = { max_connections: '20', max_worker_processes: '2', max_locks_per_transaction: '32', max_wal_senders: '8' };
    const cluster = await startPostgresCluster({
      domains: ['san-a', 'san-b'],
      postgres: {
        nodes: [
          { name: 'pg-primary', role: 'primary', domain: 'san-a' },
          { name: 'pg-replica', role: 'replica', domain: 'san-b' },
        ],
        settings,
      },
    });
    try {
      const show = "SELECT current_setting('max_connections') || ',' || current_setting('max_worker_processes') || ',' || current_setting('max_locks_per_transaction') || ',' || current_setting('max_wal_senders') AS v";
      const replica = cluster.replicas()[0]!.clientConfig();
      expect(await query(replica, show)).toEqual([{ v: '20,2,32,8' }]);
      const identity = 'SELECT system_identifier::text AS id FROM pg_control_system()';
      const [primaryId] = await query<{ id: string }>(cluster.primary().clientConfig(), identity);
      expect(await query(replica, identity)).toEqual([primaryId]);
      await query(cluster.primary().clientConfig(), 'CREATE TABLE t AS SELECT 42 AS answer');
      const deadline = Date.now() + 30_000;
      let seen: unknown[] = [];
      while (Date.now() < deadline) {
        seen = await query(replica, "SELECT answer FROM t").catch(() => []);
        if (seen.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(seen).toEqual([{ answer: 42 }]);
      expect(await query(replica, 'SELECT status FROM pg_stat_wal_receiver')).toEqual([{ status: 'streaming' }]);
    } finally {
      await cluster.stop();
      expect(await waitForNoLeftovers(cluster.runId)).toEqual(nothingLeft);
    }
  }, 120_000);
});
