// data_sync_retry = on: after a failed fsync the kernel may already have dropped the dirty pages,
// so a retry that succeeds reports durable data that never reached the disk ("fsyncgate").

import { parseBoolean } from '../postgresql-conf.ts';
import { quote, setting } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'data-sync-retry',
  severity: 'error',
  title: 'data_sync_retry is on',
  reason: 'When an fsync fails the kernel may drop the unwritten pages, so retrying it lets a checkpoint complete over data that is not on disk and a later crash loses acknowledged writes.',
  fix: 'Set data_sync_retry = off (the default) so the server stops and recovers from WAL after a failed fsync.',
  docs: 'https://www.postgresql.org/docs/current/runtime-config-error-handling.html#GUC-DATA-SYNC-RETRY',
  check: (config) => {
    const retry = setting(config, 'data_sync_retry');
    if (parseBoolean(retry.value) !== true) return [];
    return [{ message: `data_sync_retry is ${quote(retry.value)}: a failed fsync is retried instead of stopping the server`, source: retry.source }];
  },
};
