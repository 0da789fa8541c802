// A replica that commits do not wait for: a failover promotes it without the writes it had not yet
// received, although the client was told they were committed.
// synchronous_commit = local counts here, as a warning, because it is only a loss at failover;
// synchronous_commit = off is its own rule (an error: a plain crash loses commits too).

import { parseBoolean } from '../postgresql-conf.ts';
import { nodesWithRole, quote, setting } from './settings.ts';
import { parseStandbyNames } from '../../engines/postgres/index.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'async-replica',
  severity: 'warning',
  title: 'Commits do not wait for the replica',
  reason: 'A failover promotes a replica that may not have received the last acknowledged commits, so they are lost.',
  fix: 'Name the replica in synchronous_standby_names (e.g. FIRST 1 ("pg-replica")) and keep synchronous_commit = on or remote_apply.',
  docs: 'https://www.postgresql.org/docs/current/warm-standby.html#SYNCHRONOUS-REPLICATION',
  check: (config) => {
    if (config.patroni) return []; // Patroni writes synchronous_standby_names and makes the slots: its own rules judge it
    const replicas = nodesWithRole(config.topology, 'replica');
    if (replicas.length === 0) return [];
    const names = replicas.map((node) => `'${node.name}'`).join(', ');
    const commit = setting(config, 'synchronous_commit');
    if (parseBoolean(commit.value) === false) return [];
    if (commit.value.trim().toLowerCase() === 'local') {
      return [{ message: `synchronous_commit is ${quote(commit.value)}: commits do not wait for the replica ${names}, so a failover can lose writes it had not received`, source: commit.source }];
    }
    const standbys = setting(config, 'synchronous_standby_names');
    if (parseStandbyNames(standbys.value)) return [];
    return [{ message: `synchronous_standby_names is empty${standbys.set ? '' : ' (the default)'}: commits do not wait for the replica ${names}, so a failover can lose writes it had not received`, source: standbys.source }];
  },
};
