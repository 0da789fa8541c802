// archive_mode = off: nothing hands finished WAL segments to an archive. That is only safe when
// the archive streams WAL itself (pg_receivewal on the topology's archive node).

import { archiving, quote, setting, streamsToArchive } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'archive-mode-off',
  severity: 'error',
  title: 'WAL archiving is off',
  reason: 'With no archived WAL a restore can only return to the moment of a base backup, losing every write acknowledged since.',
  fix: 'Set archive_mode = on and an archive_command (or archive_library) that copies each segment to storage outside the primary.',
  docs: 'https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-ARCHIVE-MODE',
  check: (config) => {
    if (archiving(config) || streamsToArchive(config)) return [];
    const mode = setting(config, 'archive_mode');
    const why = config.pgbackrest ? 'no WAL is archived, and pgBackRest receives WAL only through archive_command' : 'no WAL is archived and no archive node streams WAL';
    return [{ message: `archive_mode is ${quote(mode.value)}${mode.set ? '' : ' (the default)'}: ${why}`, source: mode.source }];
  },
};
