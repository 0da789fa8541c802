// What Patroni, etcd and HAProxy run from: each node's patroni.yml (written as JSON, which YAML
// reads), the PostgreSQL settings faultline and the topology give (Patroni's custom_conf, so that
// Patroni's own parameters win, as in production), and HAProxy's configuration, the one Patroni's
// documentation gives (health checks against each member's REST API, /primary answering 200 only on
// the leader) with faultline's short check intervals.

import type { PatroniSettings } from './topology.ts';

/** The DCS scope (Patroni's cluster name): keys under /service/faultline in etcd. */
export const SCOPE = 'faultline';
export const REST_PORT = 8008;
export const ETCD_PORT = 2379;
/** HAProxy's port for writes (to the leader). */
export const PROXY_PORT = 5000;
/** Each member's patroni.yml (written by fl-patroni start), for patronictl too. */
export const PATRONI_CONF = '/var/lib/postgresql/patroni.yml';
/** Where the node keeps faultline's PostgreSQL settings (written by fl-patroni start). */
export const CUSTOM_CONF = '/var/lib/postgresql/faultline-postgresql.conf';

export interface Member {
  name: string;
  ip: string;
}

/** faultline's server settings under Patroni (Patroni sets listen_addresses, ports, wal_level and the rest). */
export function patroniServerConf(topologyConf: string): string {
  return [
    '# faultline',
    'hot_standby_feedback = on',
    'shared_buffers = 64MB',
    "log_line_prefix = '%m [%p] %q%a '",
    // The server's own log where faultline keeps every node's logs (Patroni would keep it in its own output).
    'logging_collector = on',
    "log_directory = '/var/log/faultline'",
    "log_filename = 'postgresql.log'",
    'log_file_mode = 0644',
    'log_rotation_age = 0',
    'log_rotation_size = 0',
    topologyConf,
  ].join('\n');
}

/** One member's patroni.yml. */
export function patroniConf(options: { member: Member; members: Member[]; ha: PatroniSettings; password: string; version: number; dataDir: string }): string {
  const { member, members, ha, password } = options;
  const user = { username: 'postgres', password };
  return JSON.stringify(
    {
      scope: SCOPE,
      name: member.name,
      restapi: { listen: `0.0.0.0:${REST_PORT}`, connect_address: `${member.ip}:${REST_PORT}` },
      etcd3: { hosts: members.map((m) => `${m.ip}:${ETCD_PORT}`) },
      bootstrap: {
        dcs: {
          ttl: ha.ttl,
          loop_wait: ha.loopWait,
          retry_timeout: ha.retryTimeout,
          maximum_lag_on_failover: ha.maximumLagOnFailover,
          synchronous_mode: ha.synchronousMode,
          synchronous_mode_strict: ha.synchronousModeStrict,
          failsafe_mode: ha.failsafeMode,
          postgresql: { use_pg_rewind: ha.usePgRewind, use_slots: true, parameters: { wal_log_hints: 'on', max_wal_senders: 16, max_replication_slots: 16 } },
        },
        initdb: ['data-checksums', { encoding: 'UTF8' }, { locale: 'C' }],
      },
      postgresql: {
        listen: `0.0.0.0:${5432}`,
        connect_address: `${member.ip}:5432`,
        data_dir: options.dataDir,
        bin_dir: `/usr/lib/postgresql/${options.version}/bin`,
        pgpass: '/var/lib/postgresql/.pgpass-patroni',
        custom_conf: CUSTOM_CONF,
        use_unix_socket: true,
        authentication: { superuser: user, replication: user, rewind: user },
        pg_hba: ['local all all trust', 'host all all all scram-sha-256', 'host replication all all scram-sha-256'],
      },
      tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
    },
    null,
    1,
  );
}

/** HAProxy in front of the members: port PROXY_PORT to whichever answers 200 on /primary. */
export function haproxyConf(members: Member[], ha: PatroniSettings): string {
  return [
    'global',
    '  maxconn 512',
    'defaults',
    '  mode tcp',
    '  retries 1',
    '  timeout connect 2s',
    '  timeout client 30m',
    '  timeout server 30m',
    '  timeout check 1s',
    'listen primary',
    `  bind *:${PROXY_PORT}`,
    '  option httpchk',
    '  http-check send meth OPTIONS uri /primary',
    '  http-check expect status 200',
    `  default-server inter 1s fall 2 rise 1${ha.shutdownSessions ? ' on-marked-down shutdown-sessions' : ''}`,
    ...members.map((m) => `  server ${m.name} ${m.ip}:5432 maxconn 200 check port ${REST_PORT}`),
  ].join('\n');
}
