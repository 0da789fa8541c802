import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../harness/errors.ts';
import { defaultTopology, validatePostgresTopology, type PostgresTopologySpec } from '../../harness/engines/postgres/index.ts';

const base = (): PostgresTopologySpec => structuredClone(defaultTopology);

function configError(spec: unknown): ConfigError {
  try {
    validatePostgresTopology(spec);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('validatePostgresTopology', () => {
  it('accepts the default topology and fills in defaults', () => {
    const topology = validatePostgresTopology(defaultTopology);
    expect(topology.postgres.version).toBe(17); // Debian stable's
    expect(topology.postgres.synchronousCommit).toBe('on');
    expect(topology.postgres.synchronousStandbyNames).toBe('');
    expect(topology.postgres.nodes.map((n) => [n.name, n.role, n.domain])).toEqual([
      ['pg-primary', 'primary', 'san-a'],
      ['pg-replica', 'replica', 'san-b'],
      ['pg-archive', 'archive', 'backup-site'],
    ]);
    expect(topology.postgres.nodes.every((n) => n.volumeBytes === 512 * 1024 ** 2)).toBe(true);
  });

  it('builds synchronous_standby_names from the synchronous nodes', () => {
    const spec = base();
    spec.postgres.nodes[1]!.synchronous = true;
    spec.postgres.nodes[2]!.synchronous = true;
    expect(validatePostgresTopology(spec).postgres.synchronousStandbyNames).toBe('ANY 1 ("pg-replica", "pg-archive")');
  });

  it('refuses a node in an undeclared failure domain, naming the node, the domain and the declared ones', () => {
    const spec = base();
    spec.postgres.nodes[1]!.domain = 'san-z';
    const error = configError(spec);
    expect(error.message).toContain("Node 'pg-replica'");
    expect(error.message).toContain("'san-z'");
    expect(error.message).toContain('san-a, san-b, backup-site');
    expect(error.exitCode).toBe(2);
  });

  it('refuses a replica without a primary', () => {
    const spec = base();
    spec.postgres.nodes = spec.postgres.nodes.filter((n) => n.role !== 'primary');
    expect(configError(spec).message).toMatch(/Node 'pg-replica' is a replica without a primary to follow/);
  });

  it.each([
    ['16M', /at least 64 MiB for PostgreSQL: got '16M' on node 'pg-primary'/],
    ['63MiB', /at least 64 MiB/],
    ['lots', /'lots' is not a size/],
  ])('refuses volume size %s', (size, message) => {
    const spec = base();
    spec.postgres.nodes[0]!.volumeSize = size;
    expect(configError(spec).message).toMatch(message);
  });

  it('accepts exactly 64 MiB', () => {
    const spec = base();
    spec.postgres.nodes[0]!.volumeSize = '64M';
    expect(validatePostgresTopology(spec).postgres.nodes[0]!.volumeBytes).toBe(64 * 1024 ** 2);
  });

  it.each([
    ['two primaries', (s: PostgresTopologySpec) => s.postgres.nodes.push({ name: 'pg-other', role: 'primary', domain: 'san-a' }), /Only one primary/],
    ['a duplicate node name', (s: PostgresTopologySpec) => s.postgres.nodes.push({ name: 'pg-replica', role: 'replica', domain: 'san-a' }), /used twice/],
    ['a bad role', (s: PostgresTopologySpec) => ((s.postgres.nodes[1] as { role: string }).role = 'standby'), /role 'standby'/],
    ['an unsupported version', (s: PostgresTopologySpec) => (s.postgres.version = 9), /version 9 cannot be built here: use 15, 17, 18 .*or 16 with an apt source/],
    ['a bad node name', (s: PostgresTopologySpec) => (s.postgres.nodes[0]!.name = 'Primary_1'), /'Primary_1' is not valid/],
    ['no domains', (s: PostgresTopologySpec) => (s.domains = []), /'domains' must list at least one/],
    ['a synchronous primary', (s: PostgresTopologySpec) => (s.postgres.nodes[0]!.synchronous = true), /primary and cannot be 'synchronous'/],
    ['an unknown backup tool', (s: PostgresTopologySpec) => ((s.postgres as { backupTool: string }).backupTool = 'wal-g'), /'backupTool' 'wal-g' is not supported: use 'pg_receivewal', 'pgbackrest', 'pg_basebackup-incremental', 'archive_command', 'barman'/],
    ['archive_command without an archive node', (s: PostgresTopologySpec) => ((s.postgres.backupTool = 'archive_command'), (s.postgres.nodes = s.postgres.nodes.slice(0, 2))), /'backupTool' is 'archive_command' but no node has role 'archive'/],
    ['archive mounts without archive_command', (s: PostgresTopologySpec) => (s.postgres.archiveMounts = { '/mnt/wal': 'nfs-async' }), /'archiveMounts' needs backupTool 'archive_command'/],
    ['a mount kind that does not exist', (s: PostgresTopologySpec) => ((s.postgres.backupTool = 'archive_command'), (s.postgres.archiveMounts = { '/mnt/wal': 'nfs-v4' as 'nfs-sync' })), /archive mount kind 'nfs-v4' is not known: use nfs-sync, nfs-async, local/],
    ['pgbackrest without an archive node', (s: PostgresTopologySpec) => ((s.postgres.backupTool = 'pgbackrest'), (s.postgres.nodes = s.postgres.nodes.slice(0, 2))), /no node has role 'archive'/],
    ['a synchronous archive with pgbackrest', (s: PostgresTopologySpec) => ((s.postgres.backupTool = 'pgbackrest'), (s.postgres.nodes[2]!.synchronous = true)), /cannot be synchronous with pgbackrest/],
    ['a bad archive timeout', (s: PostgresTopologySpec) => (s.postgres.archiveTimeout = 'a while'), /'archiveTimeout' 'a while' is not a PostgreSQL duration/],
  ])('refuses %s', (_name, mutate, message) => {
    const spec = base();
    mutate(spec);
    expect(configError(spec).message).toMatch(message);
  });

  it('refuses something that is not a topology at all', () => {
    expect(configError(42).message).toMatch(/expected an object/);
  });
});
