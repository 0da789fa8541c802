// Starting a PostgreSQL cluster from a topology: node containers (each with its own loop-mounted
// volume in its failure domain) start in parallel; the primary and the replicas get the image's
// initialised data directory (data checksums); each replica starts as a standby of the primary, on a
// replication slot, and replays its WAL from the primary's first start; the archive node streams the
// WAL into its repository with pg_receivewal. Ready means every follower streams with zero lag.

import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { ClusterError, describeError } from '../../errors.ts';
import type { PostgresNode, PostgresTopology } from './topology.ts';
import { confLine, PGBACKREST_ARCHIVE_COMMAND, type AppliedSettings } from './user-settings.ts';
import type { Engine, StartOptions } from '../../cluster/engine.ts';
import { startCluster, startNodeContainer, type StartContext } from '../../cluster/start-cluster.ts';
import { connectClient, PG_PORT, POSTGRES_LOGS, PostgresNodeHandle, REPO } from './postgres-node.ts';
import { StartedPostgresCluster, type PgBackRestCa } from './started-cluster.ts';
import { waitFor } from '../../wait.ts';
import { backupToolHooks } from './backup-tools.ts';
import { bringUpPatroni } from './patroni/start.ts';

type PgBackRestOptions = AppliedSettings['pgbackrest'];

export type StartClusterOptions = StartOptions;

export function slotName(node: string): string {
  return node.replace(/-/g, '_');
}

/**
 * Starts the PostgreSQL cluster an already validated topology describes, through the shared start
 * (cluster/start-cluster.ts), and resolves when it is ready.
 */
export function startPostgres(engine: Engine, topology: PostgresTopology, options: StartClusterOptions): Promise<StartedPostgresCluster> {
  return startCluster(engine, topology, options, { logs: POSTGRES_LOGS, bringUp });
}

/** The primary, its followers and the backup tool, until every follower streams with zero lag. */
async function bringUp(context: StartContext<PostgresTopology>): Promise<(readyMs: number) => StartedPostgresCluster> {
  const { engine, topology, run, image, log, readyTimeoutMs } = context;
  if (topology.postgres.ha) {
    const { handles, parts, notes } = await bringUpPatroni(context, serverConf(topology));
    log(`run ${run.id}: ${notes[0]}`);
    return (readyMs) => {
      const cluster = new StartedPostgresCluster(engine, topology, run, handles, image, readyMs);
      cluster.patroni = parts;
      cluster.notes.push(...notes);
      return cluster;
    };
  }
  const password = randomBytes(12).toString('hex');
  const primarySpec = topology.postgres.nodes.find((node) => node.role === 'primary');
  if (!primarySpec) throw new ClusterError('The topology has no primary');
  const pgbackrest = topology.postgres.backupTool === 'pgbackrest';
  const hooks = backupToolHooks(topology);
  const startContainer = async (node: PostgresNode) =>
    new PostgresNodeHandle(
      await startNodeContainer(run, image, node, { name: node.role === 'archive' ? 'repo' : 'data', owner: 'postgres:postgres', ports: [PG_PORT], ...hooks?.containerOptions(topology, node.role === 'archive' ? 'archive' : 'server') }),
      node,
      password,
    );
  // The primary's container starts first and is initialised while the followers' containers
  // start (on a 2-core machine three containers started at once are all up only after about
  // twice the time of one, so the primary would wait for the others). A replica's data directory
  // is the same as the primary's before it started (the image's), so it is copied and configured
  // meanwhile, and the replica starts as soon as the primary has its password and slots.
  const primaryStarted = startContainer(primarySpec);
  const primaryReady = primaryStarted.then(async (primary) => {
    log(`run ${run.id}: initialising primary '${primary.name}' (data checksums)`);
    // Every follower's slot is made as the primary is initialised, reserving WAL from then, before
    // any follower starts: the followers need all of it, from the primary's first start on.
    const slots = topology.postgres.nodes.filter((n) => n.role === 'replica' || (n.role === 'archive' && (archiveStreams(topology) || backupToolHooks(topology)?.reservesSlot(topology))));
    const env = { FL_CONF: serverConf(topology), FL_NODE_CONF: nodeConf(topology, primary.name), FL_SLOTS: slots.map((n) => slotName(n.name)).join(' ') };
    await run.track(primary.run(['fl-pg', 'init-primary'], { env }));
    for (const mapping of topology.postgres.applied.mapped) log(`run ${run.id}: ${mapping.setting} (${mapping.source}) ${mapping.to ? `runs as '${mapping.to}'` : 'is left out'}: ${mapping.why}`);
    run.checkpoint();
    return primary;
  });
  const handles = await Promise.all(
    topology.postgres.nodes.map(async (node) => {
      if (node === primarySpec) return primaryReady;
      await primaryStarted;
      const follower = await startContainer(node);
      if (node.role === 'replica') {
        log(`run ${run.id}: preparing replica '${follower.name}' (the data directory the primary starts from)`);
        await run.track(follower.run(['fl-pg', 'prepare-replica'], { env: replicaEnv(follower, primarySpec.name, topology) }));
        run.checkpoint();
      }
      const primary = await primaryReady;
      // pgBackRest's repository host, and a backup tool's behind hooks, are set up below, once every node runs.
      if ((pgbackrest || hooks) && node.role === 'archive') return follower;
      log(`run ${run.id}: starting '${follower.name}' (${node.role === 'replica' ? 'a standby of the primary' : 'streaming the WAL of the primary'})`);
      await run.track(
        node.role === 'replica'
          ? follower.run(['fl-pg', 'start'])
          : follower.run(['fl-pg', 'start-archive'], {
              env: { FL_UPSTREAM: primary.name, FL_SLOT: slotName(follower.name), FL_NAME: follower.name, FL_REPO: REPO, FL_ARCHIVE_WAL: topology.postgres.archiveWal },
            }),
      );
      run.checkpoint();
      return follower;
    }),
  );
  const primary = await primaryReady;
  const followers = handles.filter((h) => h !== primary);
  // An archive that receives no WAL by streaming (pgBackRest's, or one with archiveWal 'none') is not waited for.
  const streaming = followers.filter((f) => !(f.spec.role === 'archive' && !archiveStreams(topology)));
  run.checkpoint();
  let ca: PgBackRestCa | undefined;
  if (pgbackrest) {
    log(`run ${run.id}: setting up pgBackRest (repository on '${followers.find((f) => f.spec.role === 'archive')!.name}', TLS)`);
    ca = await run.track(setUpPgBackRest(handles, primary, topology.postgres.applied.pgbackrest));
    run.checkpoint();
  }
  let setUpNote: string | undefined;
  if (hooks) {
    const archive = followers.find((f) => f.spec.role === 'archive')!;
    log(`run ${run.id}: setting up ${hooks.name} (backup host '${archive.name}')`);
    setUpNote = `${hooks.name} set up: ${await run.track(hooks.setUp({ topology, run, nodes: handles, primary, archive, log }))}`;
    log(`run ${run.id}: ${setUpNote}`);
    run.checkpoint();
  }
  await waitForStreaming(primary, streaming, readyTimeoutMs);
  return (readyMs) => {
    const cluster = new StartedPostgresCluster(engine, topology, run, handles, image, readyMs);
    if (ca) cluster.pgbackrestCa = ca;
    if (setUpNote) cluster.notes.push(setUpNote);
    return cluster;
  };
}

/** Names a restored node may get: its certificate must be accepted by the repository host. */
export const RESTORED_NODE = 'pg-restored';
/** The scratch node a restore rehearsal restores into. */
export const REHEARSAL_NODE = 'pg-rehearsal';

/**
 * pgBackRest with its repository on the archive node, over TLS: a CA for this cluster, a
 * certificate and a TLS server on every node, then `stanza-create` and `check` (which proves
 * that archive_command reaches the repository).
 */
async function setUpPgBackRest(nodes: PostgresNodeHandle[], primary: PostgresNodeHandle, options: PgBackRestOptions): Promise<PgBackRestCa> {
  const archive = nodes.find((n) => n.spec.role === 'archive')!;
  const made = await archive.run(
    ['bash', '-c', 'd=$(mktemp -d) && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=faultline-ca -keyout $d/ca.key -out $d/ca.crt 2>/dev/null && cat $d/ca.crt && echo FAULTLINE-SPLIT && cat $d/ca.key && rm -rf $d'],
    { user: 'root' },
  );
  const [crt, key] = made.stdout.split('FAULTLINE-SPLIT').map((part) => part.trim()) as [string, string];
  const ca: PgBackRestCa = { crt, key, clients: [...nodes.map((n) => n.name), RESTORED_NODE, REHEARSAL_NODE].join(',') };
  await Promise.all(nodes.map((node) => pgBackRestNode(node, ca, node === archive ? { role: 'repo', upstream: primary.name } : { role: 'pg', repoHost: archive.name }, options)));
  await archive.run(['pgbackrest', '--stanza=main', 'stanza-create']);
  await archive.run(['pgbackrest', '--stanza=main', 'check']);
  return ca;
}

/** Sets up pgBackRest on one node (certificate, configuration, TLS server). */
export async function pgBackRestNode(
  node: PostgresNodeHandle,
  ca: PgBackRestCa,
  as: { role: 'repo'; upstream: string } | { role: 'pg'; repoHost: string },
  options: PgBackRestOptions,
): Promise<void> {
  await node.run(['fl-pg', 'pgbr-setup'], {
    user: 'root',
    env: {
      FL_NAME: node.name,
      FL_CA_CRT: ca.crt,
      FL_CA_KEY: ca.key,
      FL_PGBR_CLIENTS: ca.clients,
      FL_PGBR_ROLE: as.role,
      FL_REPO: REPO,
      FL_PGBR_GLOBAL: options.global.join('\n'),
      FL_PGBR_STANZA: options.stanza.join('\n'),
      FL_PGBR_SECTIONS: options.sections.join('\n'),
      ...(as.role === 'repo' ? { FL_UPSTREAM: as.upstream } : { FL_REPO_HOST: as.repoHost }),
    },
  });
}

/** The server's settings, the same on every node (a replica has the primary's, as a clone would). */
function serverConf(topology: PostgresTopology): string {
  const lines = [`synchronous_commit = '${topology.postgres.synchronousCommit}'`];
  const hooks = backupToolHooks(topology);
  if (hooks) lines.push(...hooks.serverConf(topology));
  if (topology.postgres.backupTool === 'pgbackrest') {
    lines.push(
      'archive_mode = on',
      confLine('archive_command', PGBACKREST_ARCHIVE_COMMAND),
      `archive_timeout = '${topology.postgres.archiveTimeout}'`,
    );
  }
  // Incremental backups need WAL summaries on whichever node is backed up (a promoted replica too).
  if (topology.postgres.incremental) lines.push('summarize_wal = on');
  if (topology.postgres.synchronousStandbyNames) {
    lines.push(`synchronous_standby_names = '${topology.postgres.synchronousStandbyNames.replace(/'/g, "''")}'`);
  }
  // The user's own settings last: later lines win.
  if (topology.postgres.applied.server.length > 0) lines.push('# settings of the topology', ...topology.postgres.applied.server);
  return lines.join('\n');
}

/** Settings of one node only, kept in faultline-node.conf (included last, not copied to clones' own). */
function nodeConf(topology: PostgresTopology, name: string): string {
  return (topology.postgres.applied.nodes[name] ?? []).join('\n');
}

/** Whether the archive node receives WAL by streaming (pg_receivewal). */
export function archiveStreams(topology: PostgresTopology): boolean {
  return topology.postgres.backupTool === 'pg_receivewal' && topology.postgres.archiveWal === 'stream';
}

/** What `fl-pg prepare-replica` needs: the settings the primary has (and this node's own), its upstream and slot. */
function replicaEnv(replica: PostgresNodeHandle, upstream: string, topology: PostgresTopology): Record<string, string> {
  return { FL_CONF: serverConf(topology), FL_NODE_CONF: nodeConf(topology, replica.name), FL_UPSTREAM: upstream, FL_SLOT: slotName(replica.name), FL_NAME: replica.name };
}

/**
 * Waits until every follower streams from the primary and has caught up with its current WAL:
 * a replica when it has replayed it (read on the replica itself, since a standby reports its replay
 * position to the primary only every wal_receiver_status_interval), the archive when it has flushed
 * it (pg_receivewal --synchronous reports each flush at once). It asks over one connection per
 * node, held for the wait, so a look costs a query rather than a process in each container. A
 * replica accepts the password only once it has replayed the primary's setting of it: until then,
 * each look tries to connect again.
 */
async function waitForStreaming(primary: PostgresNodeHandle, followers: PostgresNodeHandle[], timeoutMs: number): Promise<void> {
  if (followers.length === 0) return;
  // A node's connection, or why it has none yet: a failed attempt is forgotten, so the next look
  // tries again. The primary's must be there from the start.
  const clients = new Map<PostgresNodeHandle, Promise<pg.Client | string>>([[primary, Promise.resolve(await connectClient(primary))]]);
  const clientOf = (node: PostgresNodeHandle): Promise<pg.Client | string> => {
    let client = clients.get(node);
    if (!client) {
      client = connectClient(node).catch((error: unknown) => {
        clients.delete(node);
        return `cannot connect yet (${describeError(error)})`;
      });
      clients.set(node, client);
    }
    return client;
  };
  const value = async (node: PostgresNodeHandle, sql: string, params: string[] = []) => {
    const client = await clientOf(node);
    if (typeof client === 'string') return client;
    const { rows } = await client.query<{ v: string | null }>({ text: sql, values: params });
    return rows[0]?.v ?? undefined;
  };
  let target: string | undefined;
  let emittedAt = 0;
  try {
    await waitFor(
      {
        what: `followers ${followers.map((f) => `'${f.name}'`).join(', ')} to stream with zero lag (state:caught-up per node)`,
        timeoutMs,
        intervalMs: 20,
        error: (message) => new ClusterError(message),
      },
      async (seen) => {
        // The WAL the followers must have: the primary's position when the wait began. (Read again
        // at every look, with a WAL record written now and then below, the target could move away
        // faster than a busy follower reports reaching it.)
        target ??= (await value(primary, 'SELECT pg_current_wal_lsn()::text AS v'))!;
        const lsn = target;
        const states = await Promise.all(
          followers.map(async (follower) => {
            if (follower.spec.role === 'archive') {
              const row = await value(primary, "SELECT state || ':' || (flush_lsn >= $1::pg_lsn) AS v FROM pg_stat_replication WHERE application_name = $2", [lsn, follower.name]);
              return `${follower.name}=${row ?? 'not connected'}`;
            }
            const row = await value(
              follower,
              "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'no receiver') || ':' || (coalesce(pg_last_wal_replay_lsn(), '0/0') >= $1::pg_lsn) AS v",
              [lsn],
            );
            return `${follower.name}=${row}`;
          }),
        );
        seen(states.join(', '));
        if (states.every((state) => state.endsWith('=streaming:true'))) return true;
        // pg_receivewal reports a flush that ends exactly on a segment boundary only at its next status
        // interval; a small WAL record makes it write, flush and report at once.
        if (states.some((state) => state.endsWith('=streaming:false')) && performance.now() - emittedAt > 250) {
          emittedAt = performance.now();
          await value(primary, "SELECT pg_logical_emit_message(false, 'faultline', 'ready')::text AS v");
        }
        return undefined;
      },
    );
  } finally {
    const open = (await Promise.all(clients.values())).filter((client): client is pg.Client => typeof client !== 'string');
    await Promise.all(open.map((client) => client.end().catch(() => {})));
  }
}
