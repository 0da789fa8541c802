// A topology under Patroni (`postgres.ha`): faultline's defaults for short drills, each named;
// what such a topology must have, refused with the reason; and the patroni.yml, HAProxy and
// server settings the nodes start from. Pure logic, no containers.
import { describe, expect, it } from 'vitest';
import { patroniTopology, validatePostgresTopology } from '../../harness/engines/postgres/index.ts';
import { haproxyConf, patroniConf } from '../../harness/engines/postgres/patroni/conf.ts';
import { lsnBytes } from '../../harness/engines/postgres/patroni/rest.ts';

const members = [
  { name: 'pg-a', ip: '10.0.0.2' },
  { name: 'pg-b', ip: '10.0.0.3' },
];

describe('postgres.ha (Patroni)', () => {
  it("fills Patroni's settings with faultline's defaults for short drills and names each one it chose", () => {
    const ha = validatePostgresTopology(patroniTopology()).postgres.ha!;
    expect(ha).toMatchObject({ manager: 'patroni', ttl: 20, loopWait: 2, retryTimeout: 4, maximumLagOnFailover: 1048576, synchronousMode: false, usePgRewind: true, shutdownSessions: true });
    expect(ha.defaulted).toEqual(['ttl 20', 'loop_wait 2', 'retry_timeout 4', 'use_pg_rewind true']);
    const given = validatePostgresTopology(patroniTopology({ ttl: 30, loop_wait: 10, retry_timeout: 10, use_pg_rewind: false, synchronous_mode: true })).postgres.ha!;
    expect(given.defaulted).toEqual([]);
    expect(given).toMatchObject({ ttl: 30, loopWait: 10, retryTimeout: 10, usePgRewind: false, synchronousMode: true });
  });

  it('refuses what Patroni would not run, or what faultline does not run beside it yet, saying why', () => {
    const refused = (spec: unknown) => {
      try {
        validatePostgresTopology(spec);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused(patroniTopology({ ttl: 10 }))).toMatch(/'postgres.ha.ttl' must be at least 20 \(Patroni's minimum\)/);
    expect(refused(patroniTopology({}, { version: 15 }))).toMatch(/runs Patroni 4 from Debian trixie or later: use PostgreSQL 17 or 18/);
    expect(refused(patroniTopology({ synchronous_mode_strict: true }))).toMatch(/'synchronous_mode_strict' needs 'synchronous_mode: true'/);
    const withArchive = patroniTopology();
    withArchive.postgres.nodes.push({ name: 'pg-archive', role: 'archive', domain: 'san-c' });
    expect(refused(withArchive)).toMatch(/Node 'pg-archive': an archive node beside Patroni needs backupTool 'archive_command' \(each server runs your archive_command/);
    const archiving = patroniTopology({}, { backupTool: 'archive_command', settings: { archive_command: 'cp %p /mnt/wal/%f' } });
    archiving.postgres.nodes.push({ name: 'pg-archive', role: 'archive', domain: 'san-c' });
    expect(refused(archiving)).toBe('accepted');
    expect(refused(patroniTopology({}, { backupTool: 'archive_command', settings: { archive_command: 'cp %p /mnt/wal/%f' } }))).toMatch(/'backupTool' 'archive_command' needs an archive node/);
    expect(refused({ ...archiving, postgres: { ...archiving.postgres, backupTool: 'pgbackrest', settings: {} } })).toMatch(/'backupTool' 'pgbackrest' beside Patroni is not supported yet: use 'archive_command'/);
    const synchronous = patroniTopology();
    synchronous.postgres.nodes[1] = { ...synchronous.postgres.nodes[1]!, synchronous: true };
    expect(refused(synchronous)).toMatch(/under Patroni, synchronous replication is Patroni's to choose: remove 'synchronous' and set 'postgres.ha.synchronous_mode: true'/);
    const alone = patroniTopology();
    alone.postgres.nodes = alone.postgres.nodes.slice(0, 1);
    expect(refused(alone)).toMatch(/'postgres.ha' needs a primary and at least one replica for Patroni to fail over to; the topology has 1 server\(s\)/);
    const proxyName = patroniTopology();
    proxyName.postgres.nodes[2] = { ...proxyName.postgres.nodes[2]!, name: 'pg-haproxy' };
    expect(refused(proxyName)).toMatch(/Node name 'pg-haproxy' is the HAProxy faultline runs under Patroni/);
    expect(refused(patroniTopology({ manager: 'repmgr' as 'patroni' }))).toMatch(/'postgres.ha.manager' 'repmgr' is not a manager faultline runs for PostgreSQL: use 'patroni'/);
  });

  it("writes each member's patroni.yml with the topology's settings, and HAProxy's checks against /primary", () => {
    const ha = validatePostgresTopology(patroniTopology({ synchronous_mode: true, haproxy: { shutdownSessions: false } })).postgres.ha!;
    const conf = JSON.parse(patroniConf({ member: members[1]!, members, ha, password: 'pw', version: 17, dataDir: '/data/pgdata' }));
    expect(conf).toMatchObject({
      scope: 'faultline',
      name: 'pg-b',
      restapi: { connect_address: '10.0.0.3:8008' },
      etcd3: { hosts: ['10.0.0.2:2379', '10.0.0.3:2379'] },
      bootstrap: { dcs: { ttl: 20, loop_wait: 2, retry_timeout: 4, synchronous_mode: true, postgresql: { use_pg_rewind: true, use_slots: true } } },
      postgresql: { connect_address: '10.0.0.3:5432', data_dir: '/data/pgdata', bin_dir: '/usr/lib/postgresql/17/bin' },
    });
    expect(conf.bootstrap.initdb).toContain('data-checksums');
    const proxy = haproxyConf(members, ha);
    expect(proxy).toContain('http-check send meth OPTIONS uri /primary');
    expect(proxy).toContain('server pg-a 10.0.0.2:5432 maxconn 200 check port 8008');
    expect(proxy).not.toContain('shutdown-sessions');
    expect(haproxyConf(members, { ...ha, shutdownSessions: true })).toContain('on-marked-down shutdown-sessions');
  });

  it('reads LSNs as bytes', () => {
    expect(lsnBytes('0/3000060')).toBe(0x3000060);
    expect(lsnBytes('1/0')).toBe(2 ** 32);
    expect(lsnBytes(42)).toBe(42);
    expect(lsnBytes('nonsense')).toBeUndefined();
  });
});
