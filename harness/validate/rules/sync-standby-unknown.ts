// A name in synchronous_standby_names that no node of the topology has: the server waits for a
// standby that never connects, or counts on one faultline cannot check.

import { quote, setting } from './settings.ts';
import { parseStandbyNames } from '../../engines/postgres/index.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'sync-standby-unknown',
  severity: 'warning',
  title: 'A synchronous standby is no node of the topology',
  reason: 'A commit the server counts as safe on a standby outside the topology may be on no node the failover can promote, and faultline cannot drill it.',
  fix: "Name the topology's nodes (their application_name) in synchronous_standby_names, or add the missing node to the topology.",
  docs: 'https://www.postgresql.org/docs/current/runtime-config-replication.html#GUC-SYNCHRONOUS-STANDBY-NAMES',
  check: (config) => {
    if (config.patroni) return []; // Patroni writes synchronous_standby_names and makes the slots: its own rules judge it
    const names = setting(config, 'synchronous_standby_names');
    const parsed = parseStandbyNames(names.value);
    if (!parsed) return [];
    // Barman's receive-wal on the archive node streams as barman_receive_wal (its streaming_archiver_name).
    const barman = config.topology.postgres.backupTool === 'barman' ? ['barman_receive_wal'] : [];
    const known = [...config.topology.postgres.nodes.map((node) => node.name.toLowerCase()), ...barman];
    const nodes = config.topology.postgres.nodes.map((node) => node.name).join(', ');
    return parsed.names
      .filter((name) => name !== '*' && !known.includes(name.toLowerCase()))
      .map((name) => ({ message: `synchronous_standby_names ${quote(names.value)} names ${quote(name)}, which is no node of the topology (nodes: ${nodes})`, source: names.source }));
  },
};
