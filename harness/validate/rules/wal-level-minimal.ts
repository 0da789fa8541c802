// wal_level = minimal: WAL lacks what archiving and streaming need, so no replica or archive can
// follow the primary and no base backup can be rolled forward.

import { quote, setting } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'wal-level-minimal',
  severity: 'error',
  title: 'wal_level is minimal',
  reason: 'With minimal WAL no replica can stream and no archive can receive WAL, so losing the primary loses every write since the last base backup.',
  fix: "Set wal_level = replica (the default) or logical.",
  docs: 'https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-WAL-LEVEL',
  check: (config) => {
    const level = setting(config, 'wal_level');
    if (level.value.trim().toLowerCase() !== 'minimal') return [];
    return [{ message: `wal_level is ${quote(level.value)}: no replica or archive can follow the primary`, source: level.source }];
  },
};
