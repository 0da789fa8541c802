// Unit tests for the topology of incremental backups: backupTool 'pg_basebackup-incremental',
// its `incrementalAfter` times, and what it refuses (PostgreSQL before 17, no archive, times
// without the tool, times that are not times).
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../harness/errors.ts';
import { defaultTopology, validatePostgresTopology, type PostgresTopologySpec } from '../../harness/engines/postgres/index.ts';

const incremental = (postgres: Record<string, unknown> = {}): PostgresTopologySpec =>
  ({ ...structuredClone(defaultTopology), postgres: { ...structuredClone(defaultTopology.postgres), backupTool: 'pg_basebackup-incremental', ...postgres } }) as PostgresTopologySpec;

function configError(spec: unknown): string {
  try {
    validatePostgresTopology(spec);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe("backupTool 'pg_basebackup-incremental'", () => {
  it('streams WAL as pg_receivewal does and keeps the incremental times, in order, in milliseconds', () => {
    const topology = validatePostgresTopology(incremental({ incrementalAfter: ['2s', '800ms', 1500] }));
    expect(topology.postgres.backupTool).toBe('pg_receivewal');
    expect(topology.postgres.incremental).toEqual({ afterMs: [800, 1500, 2000] });
  });

  it('takes a full backup alone when no times are given, and none of this for the other tools', () => {
    expect(validatePostgresTopology(incremental()).postgres.incremental).toEqual({ afterMs: [] });
    expect(validatePostgresTopology(defaultTopology).postgres.incremental).toBeUndefined();
  });

  it('refuses PostgreSQL 15, naming the version and the fix', () => {
    const message = configError(incremental({ version: 15 }));
    expect(message).toMatch(/'backupTool' 'pg_basebackup-incremental' needs PostgreSQL 17 or later/);
    expect(message).toMatch(/runs PostgreSQL 15/);
    expect(message).toMatch(/set "version": 17/);
    expect(validatePostgresTopology(incremental({ version: 18 })).postgres.version).toBe(18);
  });

  it('refuses a topology without an archive node to hold the chain', () => {
    const spec = incremental();
    spec.postgres.nodes = spec.postgres.nodes.filter((n) => n.role !== 'archive');
    expect(configError(spec)).toMatch(/no node has role 'archive' to hold the backup chain/);
  });

  it('refuses incrementalAfter without the tool, saying which tool to set', () => {
    const spec = structuredClone(defaultTopology) as PostgresTopologySpec;
    (spec.postgres as Record<string, unknown>).incrementalAfter = ['1s'];
    expect(configError(spec)).toMatch(/'incrementalAfter' needs backupTool 'pg_basebackup-incremental' \(the topology's is 'pg_receivewal'\)/);
  });

  it('refuses times that are not times, naming the entry', () => {
    expect(configError(incremental({ incrementalAfter: ['1s', 'soon'] }))).toMatch(/incrementalAfter.*'soon'|"soon".*not a time after the full backup/);
    expect(configError(incrementalAfterOf('0s'))).toMatch(/not a time after the full backup/);
    expect(configError(incremental({ incrementalAfter: '1s' }))).toMatch(/must be a list of times/);
  });

  it('refuses an unknown backupTool, listing the incremental one', () => {
    expect(configError(incremental({ backupTool: 'pg_combinebackup' }))).toMatch(/use 'pg_receivewal', 'pgbackrest', 'pg_basebackup-incremental', 'archive_command', 'barman'/);
  });
});

function incrementalAfterOf(time: string): PostgresTopologySpec {
  return incremental({ incrementalAfter: [time] });
}
