// The Sidekick mistake: the backups live where the primary's data lives, so the failure that takes
// the primary (a SAN, a disk, a machine) takes the archive with it. Seen from three places: the
// topology's domains, pgBackRest's repository path, and where archive_command copies to.

import { posix } from 'node:path';
import { archiving, dataDirectories, indexes, isInside, nodesWithRole, option, primaryOf, quote, setting, TOPOLOGY } from './settings.ts';
import { copyDestinations, isRemote } from '../../engines/postgres/index.ts';
import type { Rule, RuleHit } from './types.ts';

export const rule: Rule = {
  id: 'archive-same-domain',
  severity: 'error',
  title: "Backups share the primary's failure domain",
  reason: "A failure of the primary's storage or machine then destroys the archive too, so there is nothing left to restore from.",
  fix: "Put the archive or backup repository on storage in another failure domain (another machine, SAN or site), e.g. a pgBackRest repo-host or object store.",
  docs: 'https://www.postgresql.org/docs/current/continuous-archiving.html#BACKUP-ARCHIVING-WAL',
  check: (config) => {
    const hits: RuleHit[] = [];
    const primary = primaryOf(config.topology);
    const archives = nodesWithRole(config.topology, 'archive');
    for (const archive of archives) {
      if (primary && archive.domain === primary.domain) {
        hits.push({ message: `The archive node '${archive.name}' is in failure domain '${archive.domain}', the same as the primary '${primary.name}'`, source: TOPOLOGY });
      }
    }
    const dataDirs = dataDirectories(config);
    const insideData = (path: string) => dataDirs.find((dir) => isInside(path, dir.path));

    // A local repository: posix type (the default) and no repo host. Object stores and repo hosts are elsewhere.
    if (config.pgbackrest) {
      for (const n of indexes(config, 'repo')) {
        const type = option(config, `repo${n}-type`)?.value ?? 'posix';
        if (type !== 'posix' || option(config, `repo${n}-host`)) continue;
        const path = option(config, `repo${n}-path`);
        const dir = path && insideData(path.value);
        if (path && dir) hits.push({ message: `repo${n}-path is ${quote(path.value)}, inside the data directory (${dir.named})`, source: path.source });
      }
    }

    if (!archiving(config)) return hits;
    const archiveCommand = setting(config, 'archive_command');
    const local = copyDestinations(archiveCommand.value).filter((destination) => !isRemote(destination));
    const mounts = { ...(config.topology.postgres.archiveMounts ?? {}), ...(config.archiveMounts ?? {}) };
    for (const destination of local) {
      // archive_command runs in the data directory, so a relative destination is inside it.
      const dir = posix.isAbsolute(destination) ? insideData(destination) : { named: 'archive_command runs in the data directory' };
      const localMount = Object.keys(mounts).find((path) => posix.isAbsolute(destination) && isInside(destination, path) && mounts[path] === 'local');
      if (dir) {
        hits.push({ message: `archive_command copies WAL to ${quote(destination)}, inside the data directory (${dir.named})`, source: archiveCommand.source });
      } else if (/(^|\/)(pg_wal|pg_xlog)(\/|$)/.test(destination)) {
        hits.push({ message: `archive_command copies WAL to ${quote(destination)}, inside a pg_wal directory`, source: archiveCommand.source });
      } else if (localMount) {
        hits.push({ message: `archive_command copies WAL to ${quote(destination)}, on ${quote(localMount)}, which the archive mounts say is the server's own disk: the archive is on the primary's own host`, source: archiveCommand.source });
      } else if (archives.length === 0 && !config.pgbackrest) {
        hits.push({
          message: `archive_command copies WAL to the local path ${quote(destination)} and the topology has no archive node: the archive is on the primary's machine unless that path is mounted from another failure domain`,
          source: archiveCommand.source,
        });
      }
    }
    return hits;
  },
};
