// repoN-retention-archive below the number of kept backups: pgBackRest expires the WAL the older
// backups need for point-in-time recovery, so they restore only to their own end.

import { indexes, option, quote } from './settings.ts';
import type { Rule, RuleHit } from './types.ts';

export const rule: Rule = {
  id: 'retention-archive',
  severity: 'error',
  title: 'WAL expires before the backups that need it',
  reason: 'WAL older than the newest retention-archive backups is expired, so the older backups pgBackRest still keeps can no longer be recovered to any later point in time.',
  fix: 'Remove repoN-retention-archive (it then follows the backup retention) or set it at least as high as repoN-retention-full (or repoN-retention-diff), with retention-archive-type full or diff.',
  docs: 'https://pgbackrest.org/configuration.html#section-repository/option-repo-retention-archive',
  check: (config) => {
    const hits: RuleHit[] = [];
    if (!config.pgbackrest) return hits;
    const get = (key: string) => option(config, key, 'backup') ?? option(config, key, 'expire');
    for (const n of indexes(config, 'repo')) {
      const type = get(`repo${n}-retention-archive-type`);
      const archive = get(`repo${n}-retention-archive`);
      if (type?.value === 'incr') {
        hits.push({ message: `repo${n}-retention-archive-type is 'incr': WAL is kept only for the newest incremental backups, not for the full and differential backups kept before them`, source: type.source });
        continue;
      }
      if (!archive) continue;
      const kept = type?.value === 'diff' ? (get(`repo${n}-retention-diff`) ?? get(`repo${n}-retention-full`)) : get(`repo${n}-retention-full`);
      const keptKey = type?.value === 'diff' && get(`repo${n}-retention-diff`) ? `repo${n}-retention-diff` : `repo${n}-retention-full`;
      const archiveCount = Number(archive.value);
      if (!kept) {
        hits.push({ message: `repo${n}-retention-archive is ${quote(archive.value)} but ${keptKey} is not set, so every backup is kept while WAL for all but ${archive.value} of them expires`, source: archive.source });
      } else if (Number.isFinite(archiveCount) && archiveCount < Number(kept.value)) {
        hits.push({
          message: `repo${n}-retention-archive is ${quote(archive.value)} but ${keptKey} is ${quote(kept.value)} (line ${kept.source.line}): WAL for the oldest kept backups expires`,
          source: archive.source,
        });
      }
    }
    return hits;
  },
};
