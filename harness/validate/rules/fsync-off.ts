// fsync = off: the server never forces WAL to disk, so a crash of the primary's machine can lose
// any commit it acknowledged, and can leave the data files corrupt.

import { parseBoolean } from '../postgresql-conf.ts';
import { quote, setting } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'fsync-off',
  severity: 'error',
  title: 'fsync is off',
  reason: 'Without fsync a power loss or kernel crash loses commits the server already acknowledged and can corrupt the whole cluster.',
  fix: 'Set fsync = on (the default); use synchronous_commit = off for a session that may lose its last commits instead.',
  docs: 'https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-FSYNC',
  check: (config) => {
    const fsync = setting(config, 'fsync');
    if (parseBoolean(fsync.value) !== false) return [];
    return [{ message: `fsync is ${quote(fsync.value)}: WAL and data files are never flushed to disk`, source: fsync.source }];
  },
};
