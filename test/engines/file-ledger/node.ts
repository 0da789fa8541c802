// A ledger node: a container whose volume holds `ledger`, one "key value" line per acknowledged
// append. It runs no server process; its "server" is the file, reached by commands in the node.

import type { StartedTestContainer } from 'testcontainers';
import { ClusterError } from '../../../harness/errors.ts';
import { execInNode, succeeded, type ExecOptions } from '../../../harness/cluster/node-exec.ts';
import type { StartedNode } from '../../../harness/cluster/docker/docker-run.ts';
import { VOLUME_MOUNT, type ClusterNode, type ExecRecord, type NodeSpec } from '../../../harness/cluster/engine.ts';

export const LEDGER_FILE = `${VOLUME_MOUNT}/ledger`;

export class LedgerNode implements ClusterNode {
  readonly spec: NodeSpec;
  readonly container: StartedTestContainer;
  readonly volume: StartedNode['luns'][number];
  readonly luns: StartedNode['luns'];
  readonly owner = 'root:root';
  readonly serverName = 'the file ledger';
  /** No process serves the ledger: nothing by this name ever runs. */
  readonly serverProcess = 'fl-no-ledger-server';
  role: ClusterNode['role'];
  lost = false;

  constructor(started: StartedNode, spec: NodeSpec) {
    const volume = started.luns[0];
    if (!volume) throw new ClusterError(`Node '${spec.name}' started without a volume`);
    this.spec = spec;
    this.container = started.container;
    this.volume = volume;
    this.luns = started.luns;
    this.role = spec.role;
  }

  get name(): string {
    return this.spec.name;
  }

  url(): string {
    return '';
  }

  /** The ledger is there when its volume is mounted. */
  async serverRunning(): Promise<boolean> {
    return (await this.exec(['mountpoint', '-q', VOLUME_MOUNT])).exitCode === 0;
  }

  startServer(): Promise<ExecRecord> {
    return this.run(['touch', LEDGER_FILE]);
  }

  stopServer(): Promise<ExecRecord> {
    return this.run(['sync', '-f', LEDGER_FILE]);
  }

  killServer(): Promise<ExecRecord> {
    return this.exec(['true']);
  }

  exec(command: string[], options: ExecOptions = {}): Promise<ExecRecord> {
    return execInNode(this.name, this.container, command, options, { user: 'root', env: {} });
  }

  async run(command: string[], options: ExecOptions = {}): Promise<ExecRecord> {
    return succeeded(await this.exec(command, options));
  }

  /** Appends one line and fsyncs the file (dd conv=fsync) before it counts as acknowledged. */
  append(key: number, value: string): Promise<ExecRecord> {
    return this.run(['sh', '-c', 'printf "%s %s\\n" "$0" "$1" | dd of="$2" oflag=append conv=notrunc,fsync status=none', String(key), value, LEDGER_FILE]);
  }

  /** Every line of the ledger, key to value (a later line for a key wins). */
  async rows(): Promise<Record<string, string>> {
    const text = (await this.run(['cat', LEDGER_FILE])).stdout;
    const rows: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const [key, value] = line.split(' ');
      if (key && value) rows[key] = value;
    }
    return rows;
  }
}
