// A running cluster, whatever its engine: its topology, its nodes by role, and its clean-up.
// AsyncDisposable, so tests write `await using cluster = await engine.start(topology, options)`.

import { ClusterError } from '../errors.ts';
import type { DockerRun } from './docker/docker-run.ts';
import type { ClusterNode, Engine, StartedCluster } from './engine.ts';
import type { Topology } from './topology.ts';

export class RunningCluster<N extends ClusterNode, T extends Topology> implements StartedCluster<N> {
  readonly engine: Engine;
  readonly topology: T;
  readonly run: DockerRun;
  readonly nodes: N[];
  readonly image: string;
  /** Milliseconds from the call to start until every follower had caught up. */
  readonly readyMs: number;
  readonly notes: string[] = [];
  constructor(engine: Engine, topology: T, run: DockerRun, nodes: N[], image: string, readyMs: number) {
    this.engine = engine;
    this.topology = topology;
    this.run = run;
    this.nodes = nodes;
    this.image = image;
    this.readyMs = readyMs;
  }

  get runId(): string {
    return this.run.id;
  }

  node(name: string): N {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new ClusterError(`No node named '${name}' in this cluster (nodes: ${this.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  /** The node that is primary now (it changes on failover or restore). */
  primary(): N {
    const primary = this.nodes.find((n) => n.role === 'primary');
    if (!primary) throw new ClusterError('This cluster has no primary');
    return primary;
  }

  /** Replicas still following a primary (not lost, not promoted). */
  replicas(): N[] {
    return this.nodes.filter((n) => n.role === 'replica' && !n.lost);
  }

  archive(): N | undefined {
    return this.nodes.find((n) => n.role === 'archive');
  }

  /** Makes `node` the primary; the previous primary is retired. */
  setPrimary(node: N): void {
    for (const other of this.nodes) if (other.role === 'primary' && other !== node) other.role = 'retired';
    node.role = 'primary';
    if (!this.nodes.includes(node)) this.nodes.push(node);
  }

  /**
   * Loses a whole failure domain: every node with its volume there is killed and removed, and the
   * domain's storage deleted. Nodes elsewhere are untouched. The lost nodes stay listed, marked lost.
   */
  async loseDomain(domain: string): Promise<{ nodes: string[]; volume: string }> {
    if (!this.topology.domains.includes(domain)) throw new ClusterError(`No failure domain '${domain}' in this cluster (domains: ${this.topology.domains.join(', ')})`);
    const victims = this.nodes.filter((n) => n.spec.domain === domain);
    for (const node of victims) node.lost = true;
    const volume = await this.run.loseDomain(domain, victims.map((n) => n.container.getId()));
    return { nodes: victims.map((n) => n.name), volume };
  }

  /** Removes every container, the network and the domain volumes of this cluster. */
  async stop(): Promise<void> {
    await this.run.cleanup();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

