// A user's own runbook as the recovery: faultline hands it what an operator would have (the
// surviving nodes, the backup repository, an empty node prepared in the restore domain, how to
// reach each), runs it in a process group of its own, streams its output, stops the whole group at
// its budget, and then holds it to its contract: a named primary that accepts writes.
//
// The contract (docs/runbooks.md):
//   environment  FAULTLINE_CONTEXT (context.json), FAULTLINE_RESULT (where to write the answer),
//                FAULTLINE_WORKDIR, FAULTLINE_EMPTY_NODE(_CONTAINER), FAULTLINE_ARCHIVE_CONTAINER,
//                FAULTLINE_BACKUP_TOOL, FAULTLINE_PGBACKREST_STANZA, FAULTLINE_PGDATA, PGUSER, PGPASSWORD;
//                under Patroni FAULTLINE_MANAGER, FAULTLINE_PATRONICTL_CONTAINER, FAULTLINE_PATRONI_CONFIG
//   answer       {"primary": "<node name>"} written to $FAULTLINE_RESULT, exit 0

import { describeError } from '../../errors.ts';
import { asPostgresNode, PGDATA, REPO } from './postgres-node.ts';
import { prepareEmptyNode } from './restore.ts';
import { pgBackRestNode, RESTORED_NODE } from './start-cluster.ts';
import { asPostgres, type StartedPostgresCluster } from './started-cluster.ts';
import type { ClusterNode, RunbookAbility } from '../../cluster/engine.ts';
import { containerName } from '../../cluster/node-exec.ts';
import { patroniRunbookContext } from './patroni/watch.ts';

/** context.json: what an operator would have at hand. */
export function runbookContext(cluster: StartedPostgresCluster, emptyNode: string) {
  const password = String(cluster.nodes[0]!.clientConfig().password);
  const archive = cluster.archive();
  const node = (n: StartedPostgresCluster['nodes'][number]) => ({
    name: n.name,
    role: n.name === emptyNode ? 'empty' : n.role === 'retired' ? `former ${n.spec.role}` : n.role,
    domain: n.spec.domain,
    lost: n.lost,
    ...(n.lost ? {} : { container: containerName(n), ...n.endpoint() }),
    user: 'postgres',
    password,
    pgdata: PGDATA,
  });
  return {
    runId: cluster.runId,
    backupTool: cluster.topology.postgres.backupTool,
    pgbackrestStanza: 'main',
    pgdata: PGDATA,
    repository:
      archive && !archive.lost
        ? {
            node: archive.name,
            container: containerName(archive),
            path: cluster.topology.postgres.backupTool === 'pgbackrest' ? `${REPO}/pgbackrest` : REPO,
            ...(cluster.topology.postgres.backupTool === 'pgbackrest' ? {} : { wal: `${REPO}/wal`, base: `${REPO}/base` }),
          }
        : null,
    emptyNode,
    nodes: cluster.nodes.map(node),
    // Under Patroni: how to drive it (patronictl, the REST APIs, HAProxy); null without a manager.
    manager: patroniRunbookContext(cluster) ?? null,
  };
}

/** What a PostgreSQL runbook is handed: an empty node (with pgBackRest when the cluster has it) and how to reach everything. */
export const postgresRunbooks: RunbookAbility = {
  async prepare(cluster, { domain }) {
    const pg = asPostgres(cluster);
    const empty = await prepareEmptyNode(pg, RESTORED_NODE, domain);
    if (pg.pgbackrestCa) {
      const archive = pg.archive();
      if (archive && !archive.lost) await pgBackRestNode(empty, pg.pgbackrestCa, { role: 'pg', repoHost: archive.name }, pg.topology.postgres.applied.pgbackrest);
    }
    const context = runbookContext(pg, empty.name);
    const archive = context.repository;
    const env: Record<string, string> = {
      FAULTLINE_EMPTY_NODE: empty.name,
      FAULTLINE_EMPTY_NODE_CONTAINER: containerName(empty),
      FAULTLINE_BACKUP_TOOL: context.backupTool,
      FAULTLINE_PGBACKREST_STANZA: context.pgbackrestStanza,
      FAULTLINE_PGDATA: PGDATA,
      PGUSER: 'postgres',
      PGPASSWORD: String(empty.clientConfig().password),
      ...(archive ? { FAULTLINE_ARCHIVE_CONTAINER: archive.container } : {}),
      ...(context.manager?.patronictl ? { FAULTLINE_MANAGER: 'patroni', FAULTLINE_PATRONICTL_CONTAINER: context.manager.patronictl.container, FAULTLINE_PATRONI_CONFIG: context.manager.patronictl.config } : {}),
    };
    return { context, env };
  },
  async acceptsWrites(node: ClusterNode) {
    const state = await asPostgresNode(node).psql('SELECT pg_is_in_recovery()').catch((error: unknown) => `unreachable: ${describeError(error)}`);
    return { accepts: state === 'f', state: state === 't' ? 'still in recovery (read-only)' : state };
  },
};
