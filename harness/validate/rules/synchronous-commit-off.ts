// synchronous_commit = off: the server acknowledges a commit before its WAL is on disk, so even a
// crash without failover loses the last acknowledged commits.

import { parseBoolean } from '../postgresql-conf.ts';
import { quote, setting } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'synchronous-commit-off',
  severity: 'error',
  title: 'synchronous_commit is off',
  reason: 'Commits are acknowledged before their WAL is flushed, so a crash of the primary loses the last acknowledged writes even with no failover.',
  fix: 'Set synchronous_commit = on (the default), or remote_apply when reads on the replica must see every commit.',
  docs: 'https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-SYNCHRONOUS-COMMIT',
  check: (config) => {
    const commit = setting(config, 'synchronous_commit');
    if (parseBoolean(commit.value) !== false) return [];
    return [{ message: `synchronous_commit is ${quote(commit.value)}: a commit is acknowledged before its WAL is on disk`, source: commit.source }];
  },
};
