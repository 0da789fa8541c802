import { asRoot, ensureServerUp, targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

/**
 * stale-snapshot: takes a crash-consistent snapshot of the node's volume when injected (the file
 * system is frozen while the image is copied); when the fault ends, the volume comes back as it
 * was then: the server is killed, the image rolled back, and the server started on the old data.
 * Checksums pass on such a volume; only the ledger sees the writes acknowledged in between vanish.
 */
export const staleSnapshot: Fault = {
  name: 'stale-snapshot',
  description: "Snapshot the node's volume now; when the fault ends the volume comes back as it was then",
  mirrors: 'the array is rolled back to an old snapshot during the upgrade',
  targets: ['node'],
  disruptive: false,
  healable: true,
  params: {
    restart: {
      description: "'yes': the server starts again on the old data, as an automatic restart would; 'no': it stays down (operators fail over or restore)",
      kind: 'choice',
      choices: ['yes', 'no'],
      default: 'yes',
    },
  },
  async inject({ random }, target, params) {
    const node = targetNode(target);
    const fs = node.volume.fsMount;
    const tag = `snap${Math.floor(random() * 1e9)}`;
    const image = (await asRoot(node, ['fl-lun', 'snapshot', fs, tag])).stdout.trim();
    return {
      detail: `snapshot of ${node.name}'s volume taken (${image})`,
      heal: async () => {
        await node.killServer();
        await asRoot(node, ['fl-lun', 'rollback', fs, tag, node.owner]);
        if (params.restart === 'no') return `${node.name}'s volume rolled back to the snapshot; its server stays down`;
        return `${node.name}'s volume rolled back to the snapshot; ${await ensureServerUp(node)}`;
      },
    };
  },
};
