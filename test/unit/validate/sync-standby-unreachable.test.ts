// The preflight rule for a synchronous quorum the topology cannot make up (every commit waits forever).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validatePostgresTopology, type PostgresTopologySpec } from '../../../harness/engines/postgres/index.ts';
import { parsePostgresqlConf } from '../../../harness/validate/postgresql-conf.ts';
import { runPreflight } from '../../../harness/validate/rules/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'faultline-unreachable-'));
let n = 0;
const PRIMARY = { name: 'pg-primary', role: 'primary', domain: 'san-a' } as const;
const REPLICA = { name: 'pg-replica', role: 'replica', domain: 'san-b' } as const;
const ARCHIVE = { name: 'pg-archive', role: 'archive', domain: 'backup-site' } as const;

function hits(value: string, postgres: Partial<PostgresTopologySpec['postgres']> = {}) {
  const conf = join(dir, `${n++}.conf`);
  writeFileSync(conf, `synchronous_standby_names = '${value}'\n`);
  const topology = validatePostgresTopology({ domains: ['san-a', 'san-b', 'backup-site'], postgres: { nodes: [PRIMARY, REPLICA, ARCHIVE], ...postgres } });
  return runPreflight({ settings: parsePostgresqlConf(conf), stanza: 'main', topology }).filter((f) => f.rule === 'sync-standby-unreachable');
}

describe('sync-standby-unreachable', () => {
  it('is an error when a pgBackRest repository is counted in the quorum (it never streams)', () => {
    const found = hits('ANY 2 ("pg-archive", "pg-replica")', { backupTool: 'pgbackrest' });
    expect(found).toHaveLength(1);
    expect(found[0]!.severity).toBe('error');
    expect(found[0]!.message).toMatch(/waits for 2 synchronous standby\(s\), but at most 1 can connect \('pg-replica'\); 'pg-archive' .* never streams: the primary will take no writes/);
  });

  it('is an error when the count exceeds the standbys named, and for an archive that does not stream', () => {
    expect(hits('FIRST 2 ("pg-replica")')).toHaveLength(1);
    expect(hits('ANY 2 ("pg-archive", "pg-replica")', { archiveWal: 'none' })).toHaveLength(1);
  });

  it('accepts quorums the streaming standbys can make up, or names outside the topology that may exist', () => {
    expect(hits('ANY 2 ("pg-archive", "pg-replica")')).toEqual([]);
    expect(hits('FIRST 1 ("pg-archive", "pg-replica")', { backupTool: 'pgbackrest' })).toEqual([]);
    expect(hits('2 (*)')).toEqual([]);
    expect(hits('ANY 2 ("pg-replica", "standby9")', { backupTool: 'pgbackrest' })).toEqual([]);
    expect(hits('')).toEqual([]);
  });

  it('counts * as every standby that streams, no more', () => {
    expect(hits('ANY 2 (*)', { backupTool: 'pgbackrest' })).toHaveLength(1);
  });
});
