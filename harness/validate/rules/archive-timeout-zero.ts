// archive_timeout = 0 with archive_command: a segment is archived only once it is full, so on a
// quiet system the last acknowledged writes can sit in pg_wal, unarchived, for hours.

import { parseTime } from '../postgresql-conf.ts';
import { archiving, quote, setting } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'archive-timeout-zero',
  severity: 'warning',
  title: 'archive_timeout is 0',
  reason: 'A WAL segment is archived only once it fills, so on a quiet system writes acknowledged long ago can still be missing from the archive when the primary is lost.',
  fix: 'Set archive_timeout to the most data you accept to lose, e.g. 60s.',
  docs: 'https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-ARCHIVE-TIMEOUT',
  check: (config) => {
    if (!archiving(config)) return [];
    const timeout = setting(config, 'archive_timeout');
    if (parseTime(timeout.value, 's') !== 0) return [];
    return [{ message: `archive_timeout is ${quote(timeout.value)}${timeout.set ? '' : ' (the default)'}: a WAL segment is archived only when it is full, however long that takes`, source: timeout.source }];
  },
};
