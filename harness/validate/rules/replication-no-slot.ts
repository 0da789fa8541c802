// No replication slots and no wal_keep_size: the primary recycles WAL as soon as it checkpoints, so
// a replica that falls behind finds the WAL it needs gone and must be cloned again.

import { parseMemory } from '../postgresql-conf.ts';
import { nodesWithRole, quote, setting } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'replication-no-slot',
  severity: 'warning',
  title: 'Nothing keeps WAL for the replica',
  reason: 'A replica that falls behind needs WAL the primary has already recycled, so it stops following and the cluster has no failover target until it is cloned again.',
  fix: 'Set max_replication_slots to at least the number of replicas and archives (the default is 10) and give each a slot, or set wal_keep_size.',
  docs: 'https://www.postgresql.org/docs/current/runtime-config-replication.html#GUC-MAX-REPLICATION-SLOTS',
  check: (config) => {
    if (config.patroni) return []; // Patroni writes synchronous_standby_names and makes the slots: its own rules judge it
    if (nodesWithRole(config.topology, 'primary').length === config.topology.postgres.nodes.length) return [];
    const slots = setting(config, 'max_replication_slots');
    const keep = setting(config, 'wal_keep_size');
    if (Number(slots.value.trim()) !== 0 || parseMemory(keep.value, 'MB') !== 0) return [];
    return [{ message: `max_replication_slots is ${quote(slots.value)} and wal_keep_size is ${quote(keep.value)}: nothing keeps WAL for a standby that falls behind`, source: slots.source }];
  },
};
