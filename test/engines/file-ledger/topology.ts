// The `ledger` section of a topology: nodes that each keep an append-only ledger file on their
// volume. Only what every engine's topology has (nodes, roles, domains, volume sizes).

import { z } from 'zod';
import { strictObject } from '../../../harness/schema.ts';
import { nodeFields, roleField, volumeBytesOf, type Topology, type TopologySection } from '../../../harness/cluster/topology.ts';

const nodeSchema = strictObject({
  name: nodeFields.name,
  role: roleField('`primary` takes the appends; the ledger engine has no followers'),
  domain: nodeFields.domain,
  volumeSize: nodeFields.volumeSize,
});
const ledgerSchema = strictObject({
  nodes: z.array(nodeSchema).min(1),
});

export interface LedgerTopology extends Topology {
  engine: 'ledger';
}

export const ledgerTopologySection: TopologySection<LedgerTopology> = {
  engine: 'ledger',
  serverName: 'the file ledger',
  examplePrimary: 'ledger-primary',
  schema: ledgerSchema,
  nodesOf: (section) => (section as z.output<typeof ledgerSchema>).nodes,
  refine(section, issue) {
    const nodes = (section as z.output<typeof ledgerSchema>).nodes;
    nodes.forEach((node, i) => node.role !== 'primary' && issue(['ledger', 'nodes', i, 'role'], `the file ledger has no followers: '${node.name}' must be the primary`));
  },
  build: (domains, section) => ({
    engine: 'ledger',
    domains,
    nodes: (section as z.output<typeof ledgerSchema>).nodes.map((n) => ({ name: n.name, role: n.role, domain: n.domain, volumeBytes: volumeBytesOf(n) })),
  }),
};
