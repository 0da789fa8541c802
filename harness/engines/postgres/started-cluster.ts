// A running PostgreSQL cluster: its topology, its nodes by role, and its clean-up. AsyncDisposable,
// so tests write `await using cluster = await startPostgresCluster(topology)`.

import { ClusterError } from '../../errors.ts';
import type { PostgresTopology } from './topology.ts';
import { RunningCluster } from '../../cluster/running-cluster.ts';
import type { PostgresNodeHandle } from './postgres-node.ts';
import type { StartedCluster } from '../../cluster/engine.ts';
import type { PatroniParts } from './patroni/start.ts';

/** The cluster's pgBackRest certificate authority: what a node added later (a restore) needs to join. */
export interface PgBackRestCa {
  crt: string;
  key: string;
  /** Certificate CNs every pgBackRest server of the cluster accepts. */
  clients: string;
}

export class StartedPostgresCluster extends RunningCluster<PostgresNodeHandle, PostgresTopology> {
  /** With backupTool 'pgbackrest': the cluster's CA, for nodes added later (a restore). */
  pgbackrestCa?: PgBackRestCa;
  /** Under Patroni (topology `postgres.ha`): HAProxy's node, the members' addresses, the password. */
  patroni?: PatroniParts;
}

/**
 * The PostgreSQL cluster behind a step's `cluster`, for steps that use PostgreSQL's own commands
 * (`asPostgres(cluster).primary().psql(…)`); a cluster of another engine is an error.
 */
export function asPostgres(cluster: StartedCluster): StartedPostgresCluster {
  if (!(cluster instanceof StartedPostgresCluster)) throw new ClusterError(`this step needs a PostgreSQL cluster, and this one is ${cluster.topology.engine}`);
  return cluster;
}
