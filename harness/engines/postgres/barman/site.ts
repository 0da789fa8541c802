// The Barman configuration of one cluster: the user's files (or none) mapped to this cluster's nodes,
// with the current primary as the server Barman backs up.

import { ConfigError } from '../../../errors.ts';
import { REPO } from '../postgres-node.ts';
import { slotName } from '../start-cluster.ts';
import type { PostgresTopology } from '../topology.ts';
import { barmanConf, BarmanConfRefusal, type BarmanConf } from './conf.ts';
import { topologyWalArchive } from './wal-archive.ts';

/** The archive node of a topology (validation made sure a barman topology has one). */
export function archiveSpec(topology: PostgresTopology): PostgresTopology['postgres']['nodes'][number] {
  const archive = topology.postgres.nodes.find((n) => n.role === 'archive');
  if (!archive) throw new ConfigError("backupTool 'barman' needs a node with role 'archive' to be the Barman server");
  return archive;
}

/** The configuration Barman runs with while `primary` is the cluster's primary; a ConfigError for what cannot run. */
export function clusterConf(topology: PostgresTopology, primary: string): BarmanConf {
  const archive = archiveSpec(topology);
  try {
    const pushed = topologyWalArchive(topology);
    return barmanConf(topology.postgres.barman, {
      repo: REPO,
      primary,
      archive: archive.name,
      slot: slotName(archive.name),
      synchronous: archive.synchronous,
      pgBin: `/usr/lib/postgresql/${topology.postgres.version}/bin`,
      ...(pushed ? { walArchive: true, serverName: pushed.server } : {}),
    });
  } catch (error) {
    if (error instanceof BarmanConfRefusal) throw new ConfigError(`postgres.barman: ${error.refusals.join('; ')}`, { cause: error });
    throw new ConfigError(`postgres.barman: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The mappings as one phrase for the run log: option 'from' → 'to' (why). */
export function describeMappings(conf: BarmanConf): string {
  if (conf.mapped.length === 0) return 'nothing mapped';
  return `mapped: ${conf.mapped.map((m) => `${m.option} ${m.from ? `'${m.from}'` : '(unset)'} → ${m.to ? `'${m.to}'` : 'left out'} (${m.why})`).join('; ')}`;
}
