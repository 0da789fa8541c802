// An archive_command that writes over a file already in the archive: a second cluster archiving to
// the same place, or a restored one on the same timeline, replaces good WAL with different WAL of
// the same name. PostgreSQL's documentation asks the command to refuse that; a drill cannot show
// it in seconds, since it needs two histories that reuse a segment name.

import { renamedBy, type CopyTool } from './archive-copies.ts';
import { guarded } from './archive-guard.ts';
import { archiveCopies, describeDestination, describeStep, once, sourceOf } from './archive-rule-support.ts';
import { quote } from './settings.ts';
import type { Rule, RuleHit } from './types.ts';

/** The option of each copying tool that refuses an existing file (scp and install have none). */
const REFUSING: Partial<Record<CopyTool, string>> = { cp: 'cp -n', mv: 'mv -n', rsync: 'rsync --ignore-existing', dd: 'dd conv=excl', redirect: 'set -o noclobber' };

export const rule: Rule = {
  id: 'archive-command-overwrite',
  severity: 'warning',
  title: 'archive_command overwrites archived WAL',
  reason:
    'A second cluster archiving to the same place, or a restored one on the same timeline, then replaces good WAL with different WAL of the same name, and the archive can no longer restore the history it held.',
  fix: 'Refuse an existing file before copying, as PostgreSQL\'s documentation asks (test ! -f DEST && cp %p DEST, cp -n or --update=none, rsync --ignore-existing, dd conv=excl), or archive with pgBackRest archive-push or barman-wal-archive, which check for it.',
  docs: 'https://www.postgresql.org/docs/current/continuous-archiving.html#BACKUP-ARCHIVING-WAL',
  check: (config) => {
    const read = archiveCopies(config);
    if (!read) return [];
    const { steps, copies } = read;
    const hits: RuleHit[] = [];
    for (const copy of copies) {
      if (renamedBy(steps, copies, copy) || guarded(steps, copy)) continue;
      const step = steps[copy.step]!;
      const by = step.file ? `the script ${step.file} that archive_command runs` : 'archive_command';
      hits.push({
        message: `${by} copies WAL with ${describeStep(step)} and nothing refuses an existing ${quote(describeDestination(copy))}: no test ! -f before it${REFUSING[copy.tool] ? `, no ${REFUSING[copy.tool]}` : ''}, so WAL of the same name from another cluster or timeline replaces it`,
        source: sourceOf(step, read.source),
      });
    }
    return once(hits);
  },
};
