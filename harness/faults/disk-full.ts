import { checkVolume, VOLUME_PARAM, volumeOf } from './faultfs.ts';
import { asRoot, ensureServerUp, targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';


/**
 * disk-full: fills the node's volume to ENOSPC with one file. The server's writes that need new
 * blocks fail; healing deletes the file and restarts the server if it went down.
 */
export const diskFull: Fault = {
  name: 'disk-full',
  description: "Fill the node's volume to the last block; writes that need space fail with ENOSPC",
  mirrors: 'a thin-provisioned pool runs out of space',
  targets: ['node'],
  disruptive: true,
  healable: true,
  params: { volume: VOLUME_PARAM },
  check: (topology, params) => checkVolume(topology, params),
  async inject(_context, target, params) {
    const node = targetNode(target);
    const fs = volumeOf(node, params.volume as string | undefined).fsMount;
    const FILL = `${fs}/faultline-fill`;
    // fallocate takes what is free at once; a dd loop mops up the last blocks it could not reserve.
    await asRoot(node, [
      'bash',
      '-c',
      `free=$(df --output=avail -B1 ${fs} | tail -1); fallocate -l "$free" ${FILL} 2>/dev/null || fallocate -l $((free - 1048576)) ${FILL}; ` +
        `dd if=/dev/zero of=${FILL}.tail bs=4096 2>/dev/null; sync -f ${fs}; df --output=avail -B1 ${fs} | tail -1`,
    ]);
    return {
      detail: `filled ${fs} on ${node.name}`,
      heal: async () => {
        await asRoot(node, ['rm', '-f', FILL, `${FILL}.tail`]);
        return `freed ${fs} on ${node.name}; ${await ensureServerUp(node)}`;
      },
    };
  },
};
