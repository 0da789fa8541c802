// The topology's side of Patroni (`postgres.ha` with manager 'patroni'): Patroni's own settings, by
// their names in patroni.yml, faultline's defaults for short drills (each named when used), and what
// a topology under Patroni must have.

import { z } from 'zod';
import { describeValue as describe, strictObject } from '../../../schema.ts';

/** The HAProxy node in front of the servers, in no failure domain. */
export const PROXY_NODE = 'pg-haproxy';
/** The first PostgreSQL major whose Debian suite has the Patroni faultline tests (4.0, trixie). */
const FIRST_PATRONI_MAJOR = 17;

const seconds = (name: string, min: number, why: string) =>
  z
    .number({ error: (i) => `'postgres.ha.${name}' must be a whole number of seconds, got ${describe(i.input)}` })
    .int({ error: (i) => `'postgres.ha.${name}' must be a whole number of seconds, got ${describe(i.input)}` })
    .min(min, { error: `'postgres.ha.${name}' must be at least ${min} (${why})` })
    .optional();
const flag = (name: string) => z.boolean({ error: (i) => `'postgres.ha.${name}' must be true or false, got ${describe(i.input)}` }).optional();

export const postgresHaSchema = strictObject({
  manager: z.literal('patroni', { error: (i) => `'postgres.ha.manager' ${describe(i.input)} is not a manager faultline runs for PostgreSQL: use 'patroni'` }).meta({
    description: 'The HA manager: `patroni` (Patroni beside each server, an etcd member beside each, HAProxy in front).',
  }),
  ttl: seconds('ttl', 20, "Patroni's minimum").meta({ description: "Patroni's `ttl`: how long the leader lock lives unrenewed before a replica may take it. Default 20 (Patroni's minimum; its own default is 30)." }),
  loop_wait: seconds('loop_wait', 1, "Patroni's minimum").meta({ description: "Patroni's `loop_wait`. Default 2 (Patroni's own is 10)." }),
  retry_timeout: seconds('retry_timeout', 3, "Patroni's minimum").meta({ description: "Patroni's `retry_timeout`. Default 4 (Patroni's own is 10)." }),
  maximum_lag_on_failover: z
    .number({ error: (i) => `'postgres.ha.maximum_lag_on_failover' must be a number of bytes, got ${describe(i.input)}` })
    .int()
    .min(0)
    .optional()
    .meta({ description: "Patroni's `maximum_lag_on_failover` (bytes a replica may lag and still be promoted). Default 1048576, Patroni's own." }),
  synchronous_mode: flag('synchronous_mode').meta({ description: "Patroni's `synchronous_mode`: Patroni keeps one replica synchronous and promotes only it. Default false, Patroni's own." }),
  synchronous_mode_strict: flag('synchronous_mode_strict').meta({ description: "Patroni's `synchronous_mode_strict`: with no synchronous replica left, writes wait rather than go on alone. Default false." }),
  failsafe_mode: flag('failsafe_mode').meta({ description: "Patroni's `failsafe_mode`: a leader that loses the DCS stays primary while every member still answers it. Default false." }),
  use_pg_rewind: flag('use_pg_rewind').meta({ description: "Patroni's `postgresql.use_pg_rewind`, so a deposed primary can rejoin. Default true (Patroni's own is false)." }),
  haproxy: strictObject({
    shutdownSessions: flag('haproxy.shutdownSessions').meta({
      description: "`on-marked-down shutdown-sessions` on each server line, as Patroni's sample haproxy.cfg has it: sessions to a server that stops being the leader are cut. Default true; false keeps them open (clients go on writing to a deposed primary).",
    }),
  })
    .optional()
    .meta({ description: 'The HAProxy in front of the servers (clients reach the leader through it, as deployments do).' }),
})
  .optional()
  .meta({
    description:
      "The cluster's own HA manager: with one, faultline performs no failover; it observes what the manager does (Patroni's REST API) and records every role change. Patroni runs beside each server with an etcd member on a volume of its own in the server's failure domain (volume 'etcd': faults take `volume: etcd` to act on it), and clients write through HAProxy.",
  });

type HaSection = NonNullable<z.output<typeof postgresHaSchema>>;

/** Patroni's settings as the cluster runs them, naming the ones faultline chose. */
export interface PatroniSettings {
  manager: 'patroni';
  ttl: number;
  loopWait: number;
  retryTimeout: number;
  maximumLagOnFailover: number;
  synchronousMode: boolean;
  synchronousModeStrict: boolean;
  failsafeMode: boolean;
  usePgRewind: boolean;
  shutdownSessions: boolean;
  /** What faultline chose, e.g. 'ttl 20'. */
  defaulted: string[];
}

/** Patroni's settings with faultline's defaults for short drills, naming those it chose. */
export function patroniSettings(ha: HaSection): PatroniSettings {
  const defaulted: string[] = [];
  const pick = <T>(value: T | undefined, fallback: T, name: string): T => {
    if (value !== undefined) return value;
    defaulted.push(`${name} ${String(fallback)}`);
    return fallback;
  };
  return {
    manager: 'patroni',
    ttl: pick(ha.ttl, 20, 'ttl'),
    loopWait: pick(ha.loop_wait, 2, 'loop_wait'),
    retryTimeout: pick(ha.retry_timeout, 4, 'retry_timeout'),
    maximumLagOnFailover: ha.maximum_lag_on_failover ?? 1048576,
    synchronousMode: ha.synchronous_mode ?? false,
    synchronousModeStrict: ha.synchronous_mode_strict ?? false,
    failsafeMode: ha.failsafe_mode ?? false,
    usePgRewind: pick(ha.use_pg_rewind, true, 'use_pg_rewind'),
    shutdownSessions: ha.haproxy?.shutdownSessions ?? true,
    defaulted,
  };
}

/** The volume of a member's etcd: its own LUN in the member's failure domain, apart from PostgreSQL's. */
export const ETCD_VOLUME = { name: 'etcd', mountPoint: '/var/lib/faultline/etcd', bytes: 256 * 1024 * 1024 };

/** The backup tool an archive node beside Patroni runs: the user's archive_command on every server. */
export const ARCHIVE_BESIDE_PATRONI = 'archive_command';

/** What is wrong with a topology under Patroni, as [path under `postgres`, message] pairs. */
export function patroniIssues(postgres: {
  ha?: HaSection | undefined;
  version?: number | undefined;
  backupTool?: string | undefined;
  nodes: Array<{ name: string; role: string; synchronous?: boolean | undefined }>;
}): Array<[Array<string | number>, string]> {
  const ha = postgres.ha;
  if (!ha) return [];
  const issues: Array<[Array<string | number>, string]> = [];
  const servers = postgres.nodes.filter((n) => n.role !== 'archive');
  if (servers.length < 2) issues.push([['ha'], `'postgres.ha' needs a primary and at least one replica for Patroni to fail over to; the topology has ${servers.length} server(s)`]);
  if ((postgres.version ?? FIRST_PATRONI_MAJOR) < FIRST_PATRONI_MAJOR) {
    issues.push([['version'], `'postgres.ha' runs Patroni 4 from Debian trixie or later: use PostgreSQL ${FIRST_PATRONI_MAJOR} or 18 (Debian 12's Patroni 3.0, beside PostgreSQL ${postgres.version}, is not tested)`]);
  }
  postgres.nodes.forEach((node, index) => {
    if (node.role === 'archive' && postgres.backupTool !== ARCHIVE_BESIDE_PATRONI) {
      issues.push([['nodes', index, 'role'], `Node '${node.name}': an archive node beside Patroni needs backupTool '${ARCHIVE_BESIDE_PATRONI}' (each server runs your archive_command, so whichever Patroni makes leader archives; pg_receivewal's slot would be dropped by Patroni): set "backupTool": "${ARCHIVE_BESIDE_PATRONI}" with an archive_command in settings, or remove the archive node`]);
    }
    if (node.synchronous) issues.push([['nodes', index, 'synchronous'], `Node '${node.name}': under Patroni, synchronous replication is Patroni's to choose: remove 'synchronous' and set 'postgres.ha.synchronous_mode: true'`]);
    if (node.name === PROXY_NODE) issues.push([['nodes', index, 'name'], `Node name '${PROXY_NODE}' is the HAProxy faultline runs under Patroni: choose another name`]);
  });
  if (postgres.backupTool !== undefined && postgres.backupTool !== 'pg_receivewal' && postgres.backupTool !== ARCHIVE_BESIDE_PATRONI) {
    issues.push([['backupTool'], `'backupTool' '${postgres.backupTool}' beside Patroni is not supported yet: use '${ARCHIVE_BESIDE_PATRONI}' (your archive_command on every server), remove 'backupTool', or remove 'postgres.ha'`]);
  }
  if (postgres.backupTool === ARCHIVE_BESIDE_PATRONI && !postgres.nodes.some((n) => n.role === 'archive')) {
    issues.push([['backupTool'], `'backupTool' '${ARCHIVE_BESIDE_PATRONI}' needs an archive node (the backup host the archive_command copies to): add a node with role 'archive' in a failure domain of its own`]);
  }
  if (ha.synchronous_mode_strict && !ha.synchronous_mode) issues.push([['ha', 'synchronous_mode_strict'], `'synchronous_mode_strict' needs 'synchronous_mode: true' (Patroni ignores it otherwise)`]);
  return issues;
}
