// The PostgreSQL workload: the client loop (workload/loop.ts) over `pg`. Each write inserts a unique
// key in its own transaction (a prepared INSERT), each read selects an acknowledged key. What is
// PostgreSQL's own: the ledger table, the warning that a commit happened only locally, and which
// errors mean the write did not happen (classify.ts).

import pg from 'pg';
import type { HistoryWriter } from '../../history/writer.ts';
import { classifyWriteError, describeNotice, isCommittedLocallyNotice, type ServerNotice } from './classify.ts';
import { ClientLoop, type Classified, type WorkloadClient } from '../../workload/loop.ts';
import type { WorkloadOptions } from '../../workload/types.ts';

export type { WorkloadOptions, WorkloadStats } from '../../workload/types.ts';

export const LEDGER_TABLE = 'faultline_ledger';
export const LEDGER_DDL = `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (key bigint PRIMARY KEY, value text NOT NULL)`;
const INSERT = `INSERT INTO ${LEDGER_TABLE} (key, value) VALUES ($1, $2)`;
const SELECT = `SELECT value FROM ${LEDGER_TABLE} WHERE key = $1`;

/** Where clients should write now: asked again at every (re)connect, so clients follow a failover. */
export interface WorkloadTarget {
  node: string;
  config: pg.ClientConfig;
  /**
   * Behind a proxy (HAProxy under Patroni): the node at a server address. Each connection then asks
   * the server it reached for its address once, and its writes are recorded as that node's.
   */
  nodeAt?: (ip: string) => string | undefined;
}

/** One client's connection, and the notices the server sent on it since its last write began. */
interface Connection {
  client: pg.Client;
  notices: ServerNotice[];
  /** Behind a proxy: the node this connection reached. */
  node?: string;
}

const postgresClient: WorkloadClient<WorkloadTarget, Connection> = {
  async open(target, { process, connectTimeoutMs, operationTimeoutMs, dropped }) {
    const client = new pg.Client({
      ...target.config,
      connectionTimeoutMillis: connectTimeoutMs,
      query_timeout: operationTimeoutMs,
      application_name: `faultline-p${process}`,
    });
    const connection: Connection = { client, notices: [] };
    client.on('error', dropped);
    client.on('notice', (notice) => connection.notices.push({ message: notice.message, detail: notice.detail }));
    try {
      await client.connect();
      if (target.nodeAt) {
        const { rows } = await client.query<{ ip: string | null }>('SELECT host(inet_server_addr()) AS ip');
        const node = rows[0]?.ip ? target.nodeAt(rows[0].ip) : undefined;
        if (node) connection.node = node;
      }
    } catch (error) {
      void client.end().catch(() => {});
      throw error;
    }
    return connection;
  },

  nodeOf: (connection) => connection.node,

  async invoke(connection, op) {
    if (op.f === 'read') {
      const result = await connection.client.query<{ value: string }>(SELECT, [op.key]);
      return { value: result.rows[0]?.value ?? null };
    }
    connection.notices = [];
    await connection.client.query({ name: 'faultline-insert', text: INSERT, values: [op.key, op.value] });
    // The client was told success: acknowledged, even when PostgreSQL warned that the commit
    // happened only locally (a cancelled synchronous wait). The warning stays on the record.
    const committedLocally = connection.notices.find(isCommittedLocallyNotice);
    return committedLocally ? { warning: describeNotice(committedLocally) } : {};
  },

  close(connection) {
    void connection.client.end().catch(() => {});
  },

  classify(error, { phase, op, connection }): Classified {
    if (phase === 'open') return { outcome: classifyWriteError(error, 'connect'), error: op.f === 'read' ? describePgError(error) : message(error) };
    const warned = op.f === 'read' ? undefined : connection?.notices.find(isCommittedLocallyNotice);
    return {
      outcome: classifyWriteError(error, 'statement'),
      error: warned ? `${describePgError(error)} (after the warning: ${describeNotice(warned)})` : describePgError(error),
    };
  },
};

/** N concurrent clients writing unique keys through `pg` (see workload/loop.ts for the loop). */
export class PostgresWorkload extends ClientLoop<WorkloadTarget, Connection> {
  constructor(history: HistoryWriter, target: () => WorkloadTarget, options: WorkloadOptions = {}) {
    super(history, target, postgresClient, options);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The error as a person reads it: SQLSTATE and message for server errors. */
export function describePgError(error: unknown): string {
  const e = error as { code?: string; message?: string; severity?: string };
  if (e && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return `${e.severity ?? 'ERROR'} ${e.code}: ${e.message}`;
  if (e && typeof e.code === 'string') return `${e.code}: ${e.message}`;
  return message(error);
}
