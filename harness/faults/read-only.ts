import { asRoot, ensureServerUp, targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

/**
 * read-only: the node's volume turns read-only under the running server. ext4 is aborted
 * (`remount,abort`), as it does itself on a device error with errors=remount-ro: every write then
 * fails with EROFS. Healing does what an operator must: stop the server, unmount, e2fsck, mount
 * read-write again, and start the server (crash recovery).
 */
export const readOnly: Fault = {
  name: 'read-only',
  description: "Turn the node's volume read-only under the running server; writes fail with EROFS",
  mirrors: 'the array protects itself and the LUN goes read-only',
  targets: ['node'],
  disruptive: true,
  healable: true,
  params: {},
  async inject(_context, target) {
    const node = targetNode(target);
    const fs = node.volume.fsMount;
    await asRoot(node, ['mount', '-o', 'remount,abort', fs]);
    return {
      detail: `aborted ext4 on ${fs} of ${node.name}: read-only`,
      heal: async () => {
        await node.killServer();
        await asRoot(node, ['fl-lun', 'remount-clean', fs, node.owner]);
        return `${fs} checked and read-write again; ${await ensureServerUp(node)}`;
      },
    };
  },
};
