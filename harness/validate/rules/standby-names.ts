// Which standbys a synchronous_standby_names value can choose, on the user's topology.

import type { PostgresNode, PostgresTopology } from '../../engines/postgres/index.ts';
import type { StandbyNames } from '../../engines/postgres/index.ts';

/**
 * The standbys the setting can choose, in the order the server prefers them. `*` stands for every
 * standby not named before it, in no order the server promises: archives first, the worst case.
 */
export function candidates(names: StandbyNames, topology: PostgresTopology): PostgresNode[] {
  const standbys = topology.postgres.nodes.filter((node) => node.role !== 'primary');
  const chosen: PostgresNode[] = [];
  for (const name of names.names) {
    if (name === '*') {
      const rest = standbys.filter((node) => !chosen.includes(node));
      chosen.push(...rest.filter((node) => node.role !== 'replica'), ...rest.filter((node) => node.role === 'replica'));
      continue;
    }
    const node = standbys.find((n) => n.name.toLowerCase() === name.toLowerCase());
    if (node && !chosen.includes(node)) chosen.push(node);
  }
  return chosen;
}
