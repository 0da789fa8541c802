// max_slot_wal_keep_size >= 0: a slot whose standby falls further behind than that is invalidated,
// and the primary recycles the WAL the replica or archive still needed.

import { parseMemory } from '../postgresql-conf.ts';
import { quote, setting } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'slot-wal-limit',
  severity: 'warning',
  title: 'Replication slots can be invalidated',
  reason: 'A replica or streaming archive that falls behind by more than the limit loses its slot and the WAL it needed, so the replica must be cloned again and the archive has a hole.',
  fix: 'Set max_slot_wal_keep_size = -1 (the default) and watch disk space for pg_wal instead, or size the limit for the longest outage of a standby.',
  docs: 'https://www.postgresql.org/docs/current/runtime-config-replication.html#GUC-MAX-SLOT-WAL-KEEP-SIZE',
  check: (config) => {
    const limit = setting(config, 'max_slot_wal_keep_size');
    const bytes = parseMemory(limit.value, 'MB');
    if (bytes === undefined || bytes < 0) return [];
    return [{ message: `max_slot_wal_keep_size is ${quote(limit.value)}: a standby that falls further behind than that loses its slot and the WAL it needed`, source: limit.source }];
  },
};
