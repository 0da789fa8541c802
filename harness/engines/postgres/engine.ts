// The PostgreSQL engine: the engine interface (cluster/engine.ts) over this folder's actions.

import type { Engine } from '../../cluster/engine.ts';
import { LEDGER_DDL, LEDGER_TABLE, PostgresWorkload } from './client.ts';
import { archiveCurrentSegment, followPrimary } from './archive.ts';
import { damageArchivedWal } from './backup-damage.ts';
import { takeBaseBackup } from './base-backup.ts';
import { corruptPostgres, POSTGRES_CORRUPTION_KINDS } from './corruption.ts';
import { failover } from './failover.ts';
import { ledgerRows, readFinalState } from './final-state.ts';
import { asPostgresNode, type PostgresNodeHandle } from './postgres-node.ts';
import { rejoin } from './rejoin.ts';
import { restoreFromArchive, startEmptyNode } from './restore.ts';
import { postgresRunbooks } from './runbook.ts';
import { REHEARSAL_NODE, startPostgres, type StartClusterOptions } from './start-cluster.ts';
import { postgresImage } from './image.ts';
import { postgresTopologySection, validatePostgresTopology, type PostgresTopology, type PostgresTopologySpec } from './topology.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';
import { asPostgres } from './started-cluster.ts';
import { diagnosePostgresStall } from './stall.ts';
import { postgresProveBackup } from './prove/index.ts';
import { patroniManager, patroniTarget } from './patroni/watch.ts';

const pg = asPostgres;

export const postgresEngine: Engine = {
  name: 'postgres',
  label: 'PostgreSQL',
  corruptionKinds: POSTGRES_CORRUPTION_KINDS,
  recoveryActions: ['failover', 'restore'],
  topology: postgresTopologySection,
  image: (topology, { log }) => postgresImage((topology as PostgresTopology).postgres.version, log ? { log } : {}),
  start: (topology, options) => startPostgres(postgresEngine, topology as PostgresTopology, options),
  async prepare(cluster) {
    const primary = pg(cluster).primary();
    await primary.psql(LEDGER_DDL);
    return primary.psql('SELECT version()');
  },
  workload(cluster, history, options) {
    const c = pg(cluster);
    const proxied = patroniTarget(c);
    return new PostgresWorkload(history, () => proxied ?? { node: c.primary().name, config: c.primary().clientConfig() }, options);
  },
  readFinalState: (cluster, { now }) => readFinalState(pg(cluster), { table: LEDGER_TABLE, now }),
  freshBackup: (cluster) => takeBaseBackup(pg(cluster)),
  failover: (cluster) => failover(pg(cluster)),
  restore: (cluster, options) => restoreFromArchive(pg(cluster), options),
  runbooks: postgresRunbooks,
  rejoin: (cluster) => rejoin(pg(cluster)),
  followPrimary: (cluster) => followPrimary(pg(cluster)),
  rehearsalCutoff: 'the last archived WAL switch',
  async prepareRehearsal(cluster) {
    // An archive fed by archive_command (pgBackRest's or the user's) may lag a minute behind an outage:
    // after three failures in a row PostgreSQL's archiver tries again only at its next wake-up (60 s).
    const byCommand = pg(cluster).topology.postgres.backupTool === 'pgbackrest' || pg(cluster).topology.postgres.backupTool === 'archive_command';
    const archived = await archiveCurrentSegment(pg(cluster), byCommand ? 70_000 : 30_000);
    return `WAL segment ${archived.segment} was switched on ${cluster.primary().name} and archived in ${archived.waitedMs} ms`;
  },
  async rehearse(cluster, { domain, scratch }) {
    const c = pg(cluster);
    const detail = await restoreFromArchive(c, { domain, rehearsal: true, ...(scratch ? { into: scratch as Promise<PostgresNodeHandle> } : {}) });
    return { detail, node: REHEARSAL_NODE, rows: await ledgerRows(c.node(REHEARSAL_NODE), LEDGER_TABLE) };
  },
  startScratchNode: (cluster, { domain }) => startEmptyNode(pg(cluster), REHEARSAL_NODE, domain),
  diagnoseStall: (cluster) => diagnosePostgresStall(pg(cluster)),
  corrupt: (_cluster, node, options) => corruptPostgres(asPostgresNode(node), options),
  proveBackup: postgresProveBackup,
  damageBackup: (cluster, node, how, random) => damageArchivedWal(pg(cluster), asPostgresNode(node), how, random),
  manager: (cluster) => patroniManager(pg(cluster)),
  managerOf: (topology) => (topology as PostgresTopology).postgres.ha?.manager,
};

/**
 * Starts the PostgreSQL cluster a topology describes and resolves when it is ready (for tests and
 * scripts; runs go through the runner). The topology is validated before anything starts. On any
 * failure (or interrupt) everything started is removed.
 */
export function startPostgresCluster(spec: PostgresTopologySpec | PostgresTopology, options: StartClusterOptions = {}): Promise<StartedPostgresCluster> {
  return startPostgres(postgresEngine, validatePostgresTopology(spec), options);
}
