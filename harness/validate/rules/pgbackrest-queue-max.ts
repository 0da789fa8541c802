// archive-push-queue-max: when the queue of unarchived WAL exceeds it, pgBackRest tells PostgreSQL
// the segment was archived and drops it (with archive-async, the whole queue). The stream of
// archived WAL then has a hole, and point-in-time recovery stops at it.

import { option, quote } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'pgbackrest-queue-max',
  severity: 'error',
  title: 'pgBackRest may drop WAL',
  reason: 'Once the archive queue exceeds archive-push-queue-max pgBackRest reports the WAL archived and drops it, so the archive has a hole and a restore cannot reach any write after it.',
  fix: 'Remove archive-push-queue-max and watch the size of pg_wal instead, so a slow archive delays WAL recycling rather than losing WAL.',
  docs: 'https://pgbackrest.org/configuration.html#section-archive/option-archive-push-queue-max',
  check: (config) => {
    const max = option(config, 'archive-push-queue-max', 'archive-push');
    if (!max) return [];
    const async = option(config, 'archive-async', 'archive-push');
    const mode = async?.value === 'y' ? 'with archive-async=y the whole queue is dropped' : 'the segment is dropped';
    return [{ message: `archive-push-queue-max is ${quote(max.value)}: when that much WAL waits, pgBackRest reports it archived and ${mode}`, source: max.source }];
  },
};
