// PostgreSQL's part of `faultline prove-backup`: the backups it restores (a pgBackRest repository, a
// base backup with a WAL archive directory), read first, then restored and proved in a scratch node.

import type { ProveBackupAbility } from '../../../cluster/prove-ability.ts';
import { postgresImage } from '../image.ts';
import { POSTGRES_LOGS } from '../postgres-node.ts';
import { expandPgBackRest, inspectBaseBackup, inspectPgBackRest } from './inspect.ts';
import { parsePostgresChecks, provePostgres } from './prove.ts';

export const postgresProveBackup: ProveBackupAbility = {
  sources: ['pgbackrest', 'base-backup'],
  logs: POSTGRES_LOGS,
  parseChecks: parsePostgresChecks,
  expand: (source) => (source.kind === 'pgbackrest' ? expandPgBackRest(source) : [source]),
  inspect: async (source) => (source.kind === 'pgbackrest' ? inspectPgBackRest(source) : inspectBaseBackup(source)),
  image: (backup, { log }) => postgresImage(backup.major, log ? { log } : {}),
  prove: provePostgres,
};
