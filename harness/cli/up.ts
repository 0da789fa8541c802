// 'faultline up': start a cluster from a topology and hold it until Ctrl-C, which removes
// everything.

import { installInterruptCleanup } from '../cluster/docker/index.ts';
import { defaultTopology } from '../engines/postgres/index.ts';
import { engineFor, validateTopology } from '../engines/registry.ts';
import { createProgress } from '../progress.ts';
import { readTopologyFile } from '../validate/user-config.ts';
import { parse, type Command } from './options.ts';

export const usage = 'faultline up [--topology FILE] [--json]\n\nStarts a cluster from a topology (JSON; default: primary, replica and archive in three domains) and holds it until Ctrl-C, which removes everything.';

function loadTopology(file: string | undefined): unknown {
  return file ? readTopologyFile(file) : defaultTopology;
}

export const command: Command = async (args) => {
  const { values } = parse(args, { topology: { type: 'string' }, json: { type: 'boolean' } }, 'up');
  const topology = validateTopology(loadTopology(values.topology), values.topology ?? 'default topology');
  const log = createProgress();
  installInterruptCleanup();
  const cluster = await engineFor(topology).start(topology, { log });
  log.pause();
  const nodes = cluster.nodes.map((node) => ({ name: node.name, role: node.spec.role, domain: node.spec.domain, url: node.url() }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ runId: cluster.runId, readyMs: cluster.readyMs, nodes })}\n`);
  } else {
    for (const n of nodes) {
      process.stdout.write(`${n.name.padEnd(14)} ${n.role.padEnd(8)} ${n.domain.padEnd(14)} ${n.url || '(no server: backups only)'}\n`);
    }
    process.stdout.write(`Cluster ${cluster.runId} is ready. Press Ctrl-C to stop it and remove its containers and volumes.\n`);
  }
  // Held until SIGINT/SIGTERM: the interrupt handler cleans up and exits. The timer keeps Node's
  // event loop alive (a bare pending promise would let the process end and leak the cluster).
  setInterval(() => {}, 1 << 30);
  await new Promise(() => {});
  return 0;
};
