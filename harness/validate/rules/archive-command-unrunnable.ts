// An archive_command the drills cannot run as written: a program faultline's containers lack (a
// cloud CLI whose object store is outside them, wal-g or wal-e that Debian does not ship, anything
// not a standard tool) or a script faultline was not given. The drills refuse it, so its
// archive is judged by the preflight rules alone; say which program, why, and what to try. The
// refusal itself is the drills' own (user-archive/programs.ts), so both say the same.

import { archiveCommandRefusal, programsOf } from '../../engines/postgres/index.ts';
import { activeArchiveCommand, scriptsOf } from './archive-rule-support.ts';
import { quote } from './settings.ts';
import type { Rule, RuleHit } from './types.ts';

/** A word quoted for the shell, so the drills' reader takes it back as that one word. */
function shellWord(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}

export const rule: Rule = {
  id: 'archive-command-unrunnable',
  severity: 'info',
  title: 'The drills cannot run archive_command',
  reason: 'The drills run archive_command as written in faultline\'s containers, so a command whose program is not there cannot be drilled, and its archive is judged by the preflight rules alone.',
  fix: 'Drill an equivalent the containers can run with the same durability settings (rsync over SSH, cp into a mount, pgBackRest or Barman), or pass your script with --archive-script PATH=FILE.',
  docs: 'https://www.postgresql.org/docs/current/continuous-archiving.html#BACKUP-ARCHIVING-WAL',
  check: (config) => {
    const active = activeArchiveCommand(config);
    if (!active) return [];
    const scripts = scriptsOf(config);
    const hits: RuleHit[] = [];
    for (const word of new Set(programsOf(active.command))) {
      // pgBackRest's archive-push is drilled with backupTool 'pgbackrest', barman-wal-archive with 'barman'.
      if (word.split('/').at(-1) === 'pgbackrest') continue;
      const refusal = archiveCommandRefusal(shellWord(word), 'barman', scripts);
      if (refusal) hits.push({ message: `archive_command is ${quote(active.command)}: the drills cannot run it as written: ${refusal}`, source: active.source });
    }
    return hits;
  },
};
