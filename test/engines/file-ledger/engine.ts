// The file-ledger engine: the engine interface over a node that appends "key value" lines to a file
// on its volume. It uses only tools the node image already has, and starts through the shared
// start template; everything it needs from faultline comes through the core's interfaces.

import { createHash } from 'node:crypto';
import { ClusterError } from '../../../harness/errors.ts';
import { ensureImage } from '../../../harness/cluster/docker/image.ts';
import type { Engine, StartedCluster } from '../../../harness/cluster/engine.ts';
import { RunningCluster } from '../../../harness/cluster/running-cluster.ts';
import { startCluster, startNodeContainer } from '../../../harness/cluster/start-cluster.ts';
import { ClientLoop } from '../../../harness/workload/index.ts';
import { ledgerClient } from './client.ts';
import { LEDGER_FILE, LedgerNode } from './node.ts';
import { ledgerTopologySection, type LedgerTopology } from './topology.ts';

class StartedLedgerCluster extends RunningCluster<LedgerNode, LedgerTopology> {}

function ledger(cluster: StartedCluster): StartedLedgerCluster {
  if (!(cluster instanceof StartedLedgerCluster)) throw new ClusterError(`the ledger engine was given a ${cluster.topology.engine} cluster`);
  return cluster;
}

const unsupported = (what: string) => () => Promise.reject(new ClusterError(`the file ledger cannot ${what}`));

/** Probe keys are above any key the workload writes. */
const PROBE_KEY = 2 ** 31 - 1;

export const fileLedgerEngine: Engine = {
  name: 'ledger',
  label: 'File ledger',
  corruptionKinds: ['ledger-tail'],
  recoveryActions: [],
  topology: ledgerTopologySection,
  // faultline's base image: the ledger needs nothing an engine adds.
  image: (_topology, { log }) => ensureImage(undefined, log ? { log } : {}),
  start: (topology, options) =>
    startCluster(fileLedgerEngine, topology as LedgerTopology, options, {
      logs: { sources: [{ path: LEDGER_FILE }] },
      describe: 'file ledger',
      async bringUp({ engine, topology: t, run, image }) {
        const nodes = await Promise.all(t.nodes.map(async (spec) => new LedgerNode(await startNodeContainer(run, image, spec, { name: 'data', owner: 'root:root', ports: [] }), spec)));
        await Promise.all(nodes.map((node) => run.track(node.startServer())));
        return (readyMs) => new StartedLedgerCluster(engine, t, run, nodes, image, readyMs);
      },
    }),
  async prepare(cluster) {
    await ledger(cluster).primary().run(['test', '-f', LEDGER_FILE]);
    return `file ledger at ${LEDGER_FILE} (${(await ledger(cluster).primary().run(['dd', '--version'])).stdout.split('\n')[0]})`;
  },
  workload(cluster, history, options) {
    const c = ledger(cluster);
    return new ClientLoop(history, () => ({ node: c.primary().name, handle: c.primary() }), ledgerClient, options);
  },
  async readFinalState(cluster, { now }) {
    const primary = ledger(cluster).primary();
    const rows = await primary.rows();
    // The file's own check: every line a key and a value, none torn.
    const check = await primary.exec(['awk', 'NF != 2 || $1 !~ /^[0-9]+$/ { bad++ } END { if (bad) { print bad " malformed lines"; exit 2 } print NR " lines well formed" }', LEDGER_FILE]);
    const started = now();
    const probe = await primary.append(PROBE_KEY, 'probe').then(
      async () => ((await primary.rows())[String(PROBE_KEY)] === 'probe' ? { ok: true } : { ok: false, error: 'the probe line was not read back' }),
      (error: unknown) => ({ ok: false, error: String(error) }),
    );
    return {
      time: started,
      primary: { node: primary.name, rows, tables: { ledger: createHash('sha256').update(JSON.stringify(Object.entries(rows).sort())).digest('hex') } },
      replicas: [],
      integrity: [{ tool: 'awk (ledger lines)', node: primary.name, exitCode: check.exitCode, output: (check.stdout || check.stderr).trim(), verdict: check.exitCode === 0 ? 'ok' : 'damaged' }],
      probe: { ...probe, time: started, latencyMs: Math.round(now() - started), node: primary.name, key: PROBE_KEY, via: 'by reading the ledger file back' },
    };
  },
  freshBackup: unsupported('take a backup'),
  failover: unsupported('fail over'),
  restore: unsupported('restore'),
  rejoin: unsupported('rejoin'),
  followPrimary: unsupported('follow a primary'),
  rehearsalCutoff: 'nothing (no backups)',
  prepareRehearsal: unsupported('rehearse a restore'),
  rehearse: unsupported('rehearse a restore'),
  corrupt: unsupported('be corrupted yet'),
  damageBackup: unsupported('damage a backup'),
};
