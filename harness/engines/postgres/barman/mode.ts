// How WAL reaches Barman, for the restore's evidence: by receive-wal's stream, which every commit
// waits for only when synchronous_standby_names names its application_name and the count needs
// every name (as restore-evidence.ts judges pg_receivewal's), or only by barman-wal-archive (the
// primary's archive_command, a segment once it is complete).

import type { ArchiveMode } from '../../../history/final-state.ts';
import { commitsWaitFor } from '../standby-names.ts';
import type { PostgresTopology } from '../topology.ts';
import { clusterConf } from './site.ts';

export function barmanArchiveMode(topology: PostgresTopology, archiveName: string): { archive: ArchiveMode; how: string } {
  const conf = clusterConf(topology, 'primary');
  if (!conf.streaming) {
    return conf.archiver
      ? { archive: 'archive_command', how: `the primary's archive_command pushes each complete WAL segment to Barman on ${archiveName} (barman-wal-archive)` }
      : { archive: 'none', how: `Barman on ${archiveName} receives no WAL` };
  }
  const postgres = topology.postgres;
  const waited = commitsWaitFor(conf.applicationName, { synchronousStandbyNames: postgres.synchronousStandbyNames, synchronousCommit: postgres.synchronousCommit, lines: postgres.applied.server });
  const also = conf.archiver ? ', and barman-wal-archive pushes complete segments too' : '';
  return waited
    ? { archive: 'synchronous', how: `barman receive-wal on ${archiveName} streams the WAL (pg_receivewal --synchronous, application_name '${conf.applicationName}') as a synchronous standby every commit waits for${also}` }
    : { archive: 'streamed', how: `barman receive-wal on ${archiveName} streams the WAL (application_name '${conf.applicationName}'), and commits do not wait for it${also}` };
}
