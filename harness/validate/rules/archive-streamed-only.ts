// archive_mode = off with a streaming archive: not a loss by itself, but the archive's slot is
// then the only thing that keeps WAL for it, so say so.

import { archiving, nodesWithRole, quote, setting, streamsToArchive } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'archive-streamed-only',
  severity: 'info',
  title: 'WAL reaches the archive only by streaming',
  reason: 'When pg_receivewal stops or loses its replication slot there is no second path for WAL, so the archive gets a hole a restore cannot cross.',
  fix: 'Keep the archive\'s replication slot unlimited (max_slot_wal_keep_size = -1), or also set archive_mode = on with an archive_command.',
  docs: 'https://www.postgresql.org/docs/current/app-pgreceivewal.html',
  check: (config) => {
    if (archiving(config) || !streamsToArchive(config)) return [];
    const mode = setting(config, 'archive_mode');
    const archive = nodesWithRole(config.topology, 'archive')[0]!;
    return [{ message: `archive_mode is ${quote(mode.value)}: WAL reaches the archive node '${archive.name}' only by streaming (pg_receivewal)`, source: mode.source }];
  },
};
