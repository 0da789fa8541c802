// A synchronous quorum that an archive alone can satisfy: a commit is acknowledged once a node
// that cannot be promoted has it, so the replica a failover promotes may not have it.

import { quote, setting } from './settings.ts';
import { candidates } from './standby-names.ts';
import { parseStandbyNames } from '../../engines/postgres/index.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'sync-standby-archive',
  severity: 'error',
  title: 'Commits can wait for the archive alone',
  reason: 'A commit acknowledged only by an archive node is on no node that can be promoted, so failing over to the replica loses it.',
  fix: 'List the replicas, not the archive, in synchronous_standby_names, e.g. FIRST 1 ("pg-replica"), or raise ANY n so every quorum contains a replica.',
  docs: 'https://www.postgresql.org/docs/current/runtime-config-replication.html#GUC-SYNCHRONOUS-STANDBY-NAMES',
  check: (config) => {
    if (config.patroni) return []; // Patroni writes synchronous_standby_names and makes the slots: its own rules judge it
    const standbyNames = setting(config, 'synchronous_standby_names');
    const names = parseStandbyNames(standbyNames.value);
    if (!names || names.count < 1) return [];
    const nodes = candidates(names, config.topology);
    const unpromotable = nodes.filter((node) => node.role !== 'replica');
    const list = (n: typeof nodes) => n.map((node) => `'${node.name}'`).join(', ');
    if (names.method === 'any' && unpromotable.length >= names.count) {
      const quorum = unpromotable.slice(0, names.count);
      return [{ message: `synchronous_standby_names is ${quote(standbyNames.value)}: a commit is acknowledged once ${list(quorum)} ${quorum.length === 1 ? 'has' : 'have'} it, and an archive cannot be promoted`, source: standbyNames.source }];
    }
    // FIRST n: the n connected standbys earliest in the list. With all nodes up those are the first n.
    const first = nodes.slice(0, names.count);
    if (names.method === 'first' && first.length === names.count && first.every((node) => node.role !== 'replica')) {
      return [{ message: `synchronous_standby_names is ${quote(standbyNames.value)}: commits wait only for ${list(first)}, which cannot be promoted, so the replica may lack acknowledged commits`, source: standbyNames.source }];
    }
    return [];
  },
};
