import type { Fault } from './types.ts';

/**
 * domain-loss: every node with a volume in the failure domain is lost at once (its container is
 * killed and removed) and the domain's storage is deleted, with every LUN on it. Nodes and volumes
 * in other domains are untouched. With primary data and backups in one domain, both go.
 */
export const domainLoss: Fault = {
  name: 'domain-loss',
  description: 'Lose a whole failure domain: every node and volume in it, backups included',
  mirrors: 'the whole SAN is lost, as happened to the Sidekick service in 2009',
  targets: ['domain'],
  disruptive: true,
  healable: false,
  params: {},
  async inject({ cluster }, target) {
    if (target.kind !== 'domain') throw new Error(`domain-loss needs a domain target, got '${target.label}'`);
    const lost = await cluster.loseDomain(target.domain);
    return { detail: `lost domain ${target.domain}: nodes ${lost.nodes.join(', ') || 'none'}; volume ${lost.volume}` };
  },
};
