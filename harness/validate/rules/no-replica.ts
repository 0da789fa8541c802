// No replica: losing the primary means restoring from the archive, with the downtime of a restore
// and the loss of whatever the archive had not received.

import { nodesWithRole, primaryOf, TOPOLOGY } from './settings.ts';
import type { Rule } from './types.ts';

export const rule: Rule = {
  id: 'no-replica',
  severity: 'warning',
  title: 'No replica to fail over to',
  reason: 'When the primary is lost the only way back is a restore, which loses the WAL not yet archived and takes as long as a restore takes.',
  fix: "Add a node with role 'replica' in a failure domain other than the primary's.",
  docs: 'https://www.postgresql.org/docs/current/warm-standby.html',
  check: (config) => {
    if (nodesWithRole(config.topology, 'replica').length > 0) return [];
    const primary = primaryOf(config.topology);
    return [{ message: `The topology has no replica: losing the primary '${primary?.name ?? '?'}' means a restore from the archive`, source: TOPOLOGY }];
  },
};
