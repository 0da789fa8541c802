// Barman as the backup tool (backupTool 'barman'): a Barman server on the archive node, backing up the
// cluster's primary with backup_method postgres and receiving its WAL with receive-wal (streaming
// archiver), restores by `barman recover`. Each step is a file of its own: conf.ts (the user's files
// mapped), setup.ts, processes.ts (receive-wal, the cron loop), backup.ts, recover.ts, follow.ts,
// mode.ts, verify.ts.

import type { BackupToolHooks } from '../backup-tool.ts';
import { slotName } from '../start-cluster.ts';
import { latestBarmanBackup, takeBarmanBackup } from './backup.ts';
import { walsDirectory } from './conf.ts';
import { followWithBarman } from './follow.ts';
import { barmanArchiveMode } from './mode.ts';
import { barmanRestore } from './recover.ts';
import { setUpBarman } from './setup.ts';
import { archiveSpec, clusterConf } from './site.ts';
import { verifyWithBarman } from './verify.ts';
import { topologyWalArchive } from './wal-archive.ts';
import { admitSsh } from '../user-archive/ssh.ts';

export { barmanConf, barmanConfIssues, BarmanConfRefusal, type BarmanConf, type BarmanSite } from './conf.ts';

export const barmanTool: BackupToolHooks = {
  name: 'barman',
  // The Barman host answers to the name barman-wal-archive uses, when the user's command runs it.
  containerOptions: (topology, role) => {
    const pushed = topologyWalArchive(topology);
    return role === 'archive' && pushed && !topology.postgres.nodes.some((n) => n.name === pushed.host) ? { aliases: [pushed.host] } : {};
  },
  // WAL reaches Barman by receive-wal's stream: the servers archive nothing of faultline's (a user's
  // archive_command, for barman-wal-archive, is applied from their settings as written).
  serverConf: () => [],
  // Barman's slot_name is always faultline's slot, made on the primary from its first start.
  reservesSlot: (topology) => {
    const conf = clusterConf(topology, 'primary');
    return conf.slot === slotName(archiveSpec(topology).name);
  },
  setUp: setUpBarman,
  archiveMode: barmanArchiveMode,
  // A restored server pushes WAL with barman-wal-archive once promoted: it gets the servers' key.
  admit: async (cluster, node) => {
    if (topologyWalArchive(cluster.topology)) await admitSsh(cluster.archive()!, node);
  },
  walDir: (topology) => {
    const conf = clusterConf(topology, 'primary');
    return walsDirectory(conf.home, conf.server);
  },
  takeBackup: takeBarmanBackup,
  latestBackup: latestBarmanBackup,
  restore: barmanRestore,
  followPrimary: followWithBarman,
  verify: verifyWithBarman,
};
