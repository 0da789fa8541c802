// full_page_writes = off: a page half written when the machine crashes (a torn page) cannot be
// repaired from WAL, since WAL then holds only the change, not the page's whole image.

import { parseBoolean } from '../postgresql-conf.ts';
import { quote, setting } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'full-page-writes-off',
  severity: 'error',
  title: 'full_page_writes is off',
  reason: 'A page torn by a crash mid-write cannot be rebuilt from WAL, so crash recovery or a restore replays onto a corrupt page.',
  fix: 'Set full_page_writes = on (the default) unless the storage guarantees atomic 8 kB writes.',
  docs: 'https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-FULL-PAGE-WRITES',
  check: (config) => {
    const fpw = setting(config, 'full_page_writes');
    if (parseBoolean(fpw.value) !== false) return [];
    return [{ message: `full_page_writes is ${quote(fpw.value)}: a page torn by a crash cannot be repaired from WAL`, source: fpw.source }];
  },
};
