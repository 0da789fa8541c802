import { targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';
import { markPaused } from '../cluster/docker/agent.ts';

/** pause: freezes every process of the node's container (cgroup freezer) until healed. */
export const pause: Fault = {
  name: 'pause',
  description: "Pause the node's container: its processes stop answering until it is resumed",
  mirrors: 'a hung host',
  targets: ['node'],
  disruptive: true,
  healable: true,
  params: {},
  async inject({ cluster }, target) {
    const node = targetNode(target);
    const container = cluster.run.engine.docker.getContainer(node.container.getId());
    // From now on its commands go through docker exec, which a paused container refuses at once.
    markPaused(node.container, true);
    await container.pause();
    return {
      detail: `paused ${node.name}`,
      heal: async () => {
        await container.unpause();
        markPaused(node.container, false);
        return `resumed ${node.name}`;
      },
    };
  },
};
