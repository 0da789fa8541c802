// Why a phase stalled, as the PostgreSQL servers see it: backends of the run's clients that have
// waited seconds on a wait event (a commit waiting for synchronous standbys, a lock, I/O), with the
// setting behind a synchronous wait and the standbys the primary sees. This is the evidence that the
// system under test stopped serving, as opposed to faultline hanging on its own.

import pg from 'pg';
import { describeError } from '../../errors.ts';
import type { StartedPostgresCluster } from './started-cluster.ts';
import type { PostgresNodeHandle } from './postgres-node.ts';

/** A backend that has waited longer than this on one statement counts as stalled. */
const STALLED_AFTER_S = 2;

const WAITING = `
SELECT pid, wait_event_type AS type, wait_event AS event,
       round(extract(epoch FROM now() - query_start)::numeric, 1) AS waited,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query
  FROM pg_stat_activity
 WHERE backend_type = 'client backend' AND state = 'active' AND wait_event IS NOT NULL
   AND pid <> pg_backend_pid() AND now() - query_start > interval '${STALLED_AFTER_S} seconds'
 ORDER BY query_start LIMIT 5`;

/** Lines of evidence from every running node of the cluster, primary first. */
export async function diagnosePostgresStall(cluster: StartedPostgresCluster): Promise<string[]> {
  const nodes = cluster.nodes.filter((n) => !n.lost && n.role !== 'archive');
  const found = await Promise.all(nodes.map((node) => diagnoseNode(node)));
  return found.flat();
}

async function diagnoseNode(node: PostgresNodeHandle): Promise<string[]> {
  const client = new pg.Client({ ...node.clientConfig(), application_name: 'faultline-diagnosis', connectionTimeoutMillis: 5000, query_timeout: 5000, statement_timeout: 4000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    // A server that was serving and no longer takes a connection has stopped serving, if it is meant to run.
    return node.role === 'primary' ? [`${node.name} (${node.role}) did not take a connection within 5 s: ${describeError(error)}`] : [];
  }
  try {
    const waiting = (await client.query(WAITING)).rows as Array<{ pid: number; type: string; event: string; waited: string; query: string }>;
    if (waiting.length === 0) return [];
    const lines = waiting.map((w) => `${node.name}: backend ${w.pid} has waited ${w.waited} s on ${w.event} (${w.type}) in '${w.query}'`);
    if (waiting.some((w) => w.event === 'SyncRep')) {
      const names = (await client.query('SHOW synchronous_standby_names')).rows[0]?.synchronous_standby_names as string | undefined;
      const standbys = (await client.query("SELECT application_name AS name, state, sync_state FROM pg_stat_replication ORDER BY application_name")).rows as Array<{ name: string; state: string; sync_state: string }>;
      lines.push(
        `${node.name}: commits wait for the synchronous standbys of synchronous_standby_names '${names ?? ''}'; standbys connected: ${standbys.length === 0 ? 'none' : standbys.map((s) => `${s.name} (${s.state}, ${s.sync_state})`).join(', ')}`,
      );
    }
    return lines;
  } catch (error) {
    return node.role === 'primary' ? [`${node.name} (${node.role}) did not answer a query on its own activity within 5 s: ${describeError(error)}`] : [];
  } finally {
    await client.end().catch(() => {});
  }
}
