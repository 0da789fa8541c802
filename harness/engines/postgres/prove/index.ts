// PostgreSQL's part of `faultline prove-backup`: the backups it restores (a pgBackRest repository, a
// Barman server's catalogue, a base backup with a WAL archive directory), read first, then restored and proved in a scratch node.

import type { ProveBackupAbility } from '../../../cluster/prove-ability.ts';
import { postgresImage } from '../image.ts';
import { POSTGRES_LOGS } from '../postgres-node.ts';
import { inspectBarman } from './barman.ts';
import { inspectBaseBackup } from './inspect.ts';
import { expandPgBackRest, inspectPgBackRest } from './pgbackrest-inspect.ts';
import { parsePostgresChecks, provePostgres } from './prove.ts';

export const postgresProveBackup: ProveBackupAbility = {
  sources: ['pgbackrest', 'base-backup', 'barman'],
  logs: POSTGRES_LOGS,
  parseChecks: parsePostgresChecks,
  expand: (source) => (source.kind === 'pgbackrest' ? expandPgBackRest(source) : [source]),
  inspect: async (source) => (source.kind === 'pgbackrest' ? inspectPgBackRest(source) : source.kind === 'barman' ? inspectBarman(source) : inspectBaseBackup(source)),
  image: (backup, { log }) => postgresImage(backup.major, log ? { log } : {}),
  prove: provePostgres,
};
