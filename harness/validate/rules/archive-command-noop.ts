// An archive_command that reports success without copying anything: PostgreSQL then recycles the
// segment, and the archive has a hole no restore can cross.

import { archiving, quote, setting } from './settings.ts';
import { simpleCommands, succeedsAlways } from '../../engines/postgres/index.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'archive-command-noop',
  severity: 'error',
  title: 'archive_command archives nothing',
  reason: 'PostgreSQL recycles a WAL segment once archive_command exits 0, so a command that succeeds without copying it (or masks a failed copy) leaves a hole in the archive that ends point-in-time recovery there.',
  fix: 'Make archive_command copy %p to the archive and exit non-zero when the copy fails, with no "|| true" after it.',
  docs: 'https://www.postgresql.org/docs/current/continuous-archiving.html#BACKUP-ARCHIVING-WAL',
  check: (config) => {
    if (!archiving(config) || setting(config, 'archive_library').value.trim()) return [];
    const archiveCommand = setting(config, 'archive_command');
    const command = archiveCommand.value.trim();
    const source = archiveCommand.source;
    if (!command) {
      return [{ message: `archive_mode is ${quote(setting(config, 'archive_mode').value)} but archive_command is empty and archive_library is not set: the archive never receives WAL`, source }];
    }
    const commands = simpleCommands(command);
    const last = commands.at(-1);
    if (commands.length === 1 && last && succeedsAlways(last)) {
      return [{ message: `archive_command is ${quote(command)}: the archive never receives WAL`, source }];
    }
    if (commands.length > 1 && last && succeedsAlways(last) && (last.after === '||' || last.after === ';')) {
      return [{ message: `archive_command is ${quote(command)}: '${last.after} ${last.words.join(' ')}' masks a failed copy, so PostgreSQL recycles WAL the archive never got`, source }];
    }
    if (!/%[pf]/.test(command)) {
      return [{ message: `archive_command is ${quote(command)}, which names neither %p nor %f: it cannot copy the segment PostgreSQL asks for`, source }];
    }
    return [];
  },
};
