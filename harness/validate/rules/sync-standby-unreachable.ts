// A synchronous quorum that the topology's streaming standbys cannot make up: every commit on the
// primary waits for standbys that never connect, so the server stops taking writes at once.

import { quote, setting } from './settings.ts';
import { parseStandbyNames } from '../../engines/postgres/index.ts';
import type { PostgresNode, PostgresTopology } from '../../engines/postgres/index.ts';
import type { Rule } from './types.ts';

/** Whether a node sends the primary flush positions as a standby: replicas, and a pg_receivewal archive that streams. */
export function streamsAsStandby(node: PostgresNode, topology: PostgresTopology): boolean {
  if (node.role === 'replica') return true;
  if (node.role !== 'archive') return false;
  return (topology.postgres.backupTool ?? 'pg_receivewal') === 'pg_receivewal' && (topology.postgres.archiveWal ?? 'stream') === 'stream';
}

export const rule: Rule = {
  id: 'sync-standby-unreachable',
  severity: 'error',
  title: 'Commits wait for more synchronous standbys than can connect',
  reason:
    'A commit returns only once the number of standbys synchronous_standby_names asks for have flushed it; when fewer can ever connect, every commit (a CREATE TABLE too) waits forever and the primary takes no writes.',
  fix: 'Lower the count in synchronous_standby_names to the standbys that stream (replicas, or a pg_receivewal archive), or name the ones that do; a pgBackRest repository receives WAL by archive_command and never streams.',
  docs: 'https://www.postgresql.org/docs/current/warm-standby.html#SYNCHRONOUS-REPLICATION',
  check: (config) => {
    if (config.patroni) return []; // Patroni writes synchronous_standby_names and makes the slots: its own rules judge it
    const standbyNames = setting(config, 'synchronous_standby_names');
    const names = parseStandbyNames(standbyNames.value);
    if (!names || names.count < 1) return [];
    const { topology } = config;
    const standbys = topology.postgres.nodes.filter((node) => node.role !== 'primary');
    const matched = new Set<PostgresNode>();
    let outside = 0; // names of no node of the topology: they may exist outside it (another rule warns)
    for (const name of names.names) {
      if (name === '*') {
        for (const node of standbys) if (streamsAsStandby(node, topology)) matched.add(node);
        continue;
      }
      const node = standbys.find((n) => n.name.toLowerCase() === name.toLowerCase());
      if (!node) outside++;
      else if (streamsAsStandby(node, topology)) matched.add(node);
    }
    const possible = matched.size + outside;
    if (possible >= names.count) return [];
    const silent = standbys.filter((node) => !streamsAsStandby(node, topology) && names.names.some((n) => n.toLowerCase() === node.name.toLowerCase()));
    const why = silent.length > 0 ? `; ${silent.map((n) => `'${n.name}' (${n.role !== 'archive' ? n.role : topology.postgres.backupTool === 'pgbackrest' ? 'a pgBackRest repository' : "an archive with archiveWal 'none'"})`).join(', ')} never streams` : '';
    return [
      {
        message: `synchronous_standby_names is ${quote(standbyNames.value)}: every commit waits for ${names.count} synchronous standby(s), but at most ${possible} can connect (${[...matched].map((n) => `'${n.name}'`).join(', ') || 'none'})${why}: the primary will take no writes`,
        source: standbyNames.source,
      },
    ];
  },
};
