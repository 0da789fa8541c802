// Preflight rules on the user's patroni.yml (`faultline validate --patroni-conf`), from Patroni's
// documentation: the leader lock's timing, a failover that may promote a replica without the last
// acknowledged commits, and a leader that cannot be stopped when Patroni itself hangs.

import { sourceOf, type Rule, type RuleHit } from './types.ts';

/** Patroni's defaults, for what the file does not set (Patroni's documentation, dynamic configuration). */
const PATRONI_DEFAULTS = { ttl: 30, loop_wait: 10, retry_timeout: 10, maximum_lag_on_failover: 1048576 };

export const ttlBudget: Rule = {
  id: 'patroni-ttl-budget',
  severity: 'error',
  title: "Patroni's ttl is shorter than loop_wait + 2 × retry_timeout",
  reason:
    'The leader lock can expire while the leader is still retrying the DCS or PostgreSQL within retry_timeout, so a replica is promoted while the old leader has not yet demoted itself: two primaries at once.',
  fix: 'Keep loop_wait + 2 × retry_timeout <= ttl (Patroni\'s defaults: 10 + 2 × 10 <= 30).',
  docs: 'https://patroni.readthedocs.io/en/latest/dynamic_configuration.html',
  check: (config) => {
    const p = config.patroni;
    if (!p) return [];
    const ttl = p.ha.ttl ?? PATRONI_DEFAULTS.ttl;
    const loop = p.ha.loop_wait ?? PATRONI_DEFAULTS.loop_wait;
    const retry = p.ha.retry_timeout ?? PATRONI_DEFAULTS.retry_timeout;
    if (loop + 2 * retry <= ttl) return [];
    return [{ message: `ttl is ${ttl}, but loop_wait + 2 × retry_timeout is ${loop} + 2 × ${retry} = ${loop + 2 * retry}`, source: sourceOf(p.sources.ttl ?? p.sources.loop_wait ?? p.sources.retry_timeout, p.file) }];
  },
};

export const asyncFailover: Rule = {
  id: 'patroni-async-failover',
  severity: 'warning',
  title: 'Patroni may promote a replica without the last acknowledged commits',
  reason:
    'With synchronous_mode off, commits do not wait for any replica, and Patroni promotes a replica that lags by up to maximum_lag_on_failover bytes: the commits it had not received are lost although the clients were told they were committed.',
  fix: 'Set synchronous_mode: true in bootstrap.dcs (and synchronous_mode_strict: true if writes must wait rather than go on alone), or accept the loss as your RPO.',
  docs: 'https://patroni.readthedocs.io/en/latest/replication_modes.html',
  check: (config) => {
    const p = config.patroni;
    if (!p || p.ha.synchronous_mode) return [];
    const lag = p.ha.maximum_lag_on_failover ?? PATRONI_DEFAULTS.maximum_lag_on_failover;
    const hit: RuleHit = {
      message: `synchronous_mode is ${p.sources.synchronous_mode ? 'false' : 'not set (off, the default)'} and maximum_lag_on_failover is ${lag} bytes${p.sources.maximum_lag_on_failover ? '' : ' (the default)'}: a failover can lose up to that much of acknowledged WAL`,
      source: sourceOf(p.sources.synchronous_mode ?? p.sources.maximum_lag_on_failover, p.file),
    };
    return [hit];
  },
};

export const noWatchdog: Rule = {
  id: 'patroni-no-watchdog',
  severity: 'warning',
  title: 'No watchdog: a hung Patroni cannot stop its PostgreSQL',
  reason:
    'If Patroni on the leader hangs (a stuck process, a paused VM), its leader lock expires and a replica is promoted while the old PostgreSQL goes on accepting writes from the clients still connected to it: a split brain, and those writes are lost when it rejoins.',
  fix: "Set watchdog: {mode: required, device: /dev/watchdog} so the host resets when Patroni stops renewing, and cut client sessions on leader change (HAProxy 'on-marked-down shutdown-sessions').",
  docs: 'https://patroni.readthedocs.io/en/latest/watchdog.html',
  check: (config) => {
    const p = config.patroni;
    if (!p || p.watchdog.mode === 'required') return [];
    const source = sourceOf(p.watchdog.source, p.file);
    if (p.watchdog.mode === 'automatic') return [{ message: "watchdog mode is 'automatic': Patroni uses a watchdog only where the device exists, and runs on without one", source, severity: 'info' }];
    return [{ message: `watchdog mode is '${p.watchdog.mode}'${p.watchdog.source ? '' : ' (the file has no watchdog section)'}`, source }];
  },
};
