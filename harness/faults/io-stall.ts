import { checkVolume, VOLUME_PARAM, volumeOf } from './faultfs.ts';
import { asRoot, targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

/**
 * io-stall: freezes the node's volume (`fsfreeze`). Every write to it blocks until the stall is
 * healed (thawed); the server hangs but does not fail. Thawing is also done by clean-up, always.
 */
export const ioStall: Fault = {
  name: 'io-stall',
  description: "Freeze the node's volume: every write to it blocks until the stall ends",
  mirrors: 'a controller failover or firmware upgrade pauses I/O',
  targets: ['node'],
  disruptive: true,
  healable: true,
  params: { volume: VOLUME_PARAM },
  check: (topology, params) => checkVolume(topology, params),
  async inject(_context, target, params) {
    const node = targetNode(target);
    const fs = volumeOf(node, params.volume as string | undefined).fsMount;
    await asRoot(node, ['fsfreeze', '-f', fs]);
    return {
      detail: `froze ${fs} on ${node.name}`,
      heal: async () => {
        await asRoot(node, ['fsfreeze', '-u', fs]);
        return `thawed ${fs} on ${node.name}`;
      },
    };
  },
};
