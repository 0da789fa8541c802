// The engine interface: what a storage system (PostgreSQL, Redis) gives the rest of faultline. Like
// Jepsen's split between `db`, `client` and `checker`, an engine starts a cluster from its topology
// section, runs a workload client with the ok/fail/info rules of its driver, reads the final state
// back, performs its recovery actions, and tells the faults what they need from a node (its server
// process, the files each corruption kind damages). The runner, the recovery steps, the faults, the
// checkers and the report import this file, never an engine's folder: a new engine is a new folder.

import type { StartedTestContainer } from 'testcontainers';
import type { DockerRun, FaultfsOptions, StartedNode } from './docker/docker-run.ts';
import type { HistoryWriter } from '../history/writer.ts';
import type { FinalState } from '../history/final-state.ts';
import type { Random } from '../random.ts';
import type { NodeSpec, Topology, TopologySection } from './topology.ts';
import type { Workload, WorkloadOptions } from '../workload/types.ts';
import type { ProveBackupAbility } from './prove-ability.ts';
import type { HaManager } from './ha-ability.ts';

export type { Workload, WorkloadOptions, WorkloadStats } from '../workload/types.ts';
export type * from './prove-ability.ts';

export type EngineName = string;
export type { NodeSpec } from './topology.ts';

/** A command run in a node, kept so that later stages can put it in the history. */
export interface ExecRecord {
  node: string;
  command: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Mount point of a node's own volume (its "LUN"): the server's data, or the backup repository. */
export const VOLUME_MOUNT = '/var/lib/faultline/data';

/** A running node of any engine: its container, its volume, its server process. */
export interface ClusterNode {
  readonly spec: NodeSpec;
  readonly name: string;
  readonly container: StartedTestContainer;
  readonly volume: StartedNode['luns'][number];
  /** Every volume of the node, its own first (`volume`); e.g. a Patroni member's etcd has one of its own. */
  readonly luns: StartedNode['luns'];
  /** Its role now: a promoted replica is 'primary'; a primary that was failed over is 'retired'. */
  role: NodeSpec['role'] | 'retired';
  /** Set when the node's volume or whole domain was destroyed: it cannot come back. */
  lost: boolean;
  /** The user and group that own the server's files, e.g. `postgres:postgres`. */
  readonly owner: string;
  /** The server's name in messages ('PostgreSQL', 'Redis', 'Valkey'). */
  readonly serverName: string;
  /** The server's process name, for proving it gone (`pgrep -x`). */
  readonly serverProcess: string;
  /** How to reach its server from the machine running faultline, e.g. `redis://host:port`; '' when it runs none. */
  url(): string;
  serverRunning(): Promise<boolean>;
  /**
   * A setting of the running server whose durability faultfs cannot see (it relies on syncfs, which
   * the kernel does not pass on to faultfs), said as a sentence; undefined when there is none or
   * no server answers. A power loss on such a node cannot prove a loss: see Injected.caveat.
   */
  durabilityCaveat?(): Promise<string | undefined>;
  /** Starts the server on what its volume holds (after a crash: crash recovery); throws if it does not come up. */
  startServer(): Promise<ExecRecord>;
  /** What the server depends on in the node (an HA manager's processes), started when not running; returns what it started. */
  startCompanions?(): Promise<string[]>;
  stopServer(mode?: 'smart' | 'fast' | 'immediate'): Promise<ExecRecord>;
  /** SIGKILL to the server (a host crash, as the server sees it); resolves once no server process is left. */
  killServer(): Promise<ExecRecord>;
  exec(command: string[], options?: { user?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<ExecRecord>;
  /** Like exec, but a non-zero exit throws with the command's output. */
  run(command: string[], options?: { user?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<ExecRecord>;
}

/** A running cluster of any engine. */
export interface StartedCluster<N extends ClusterNode = ClusterNode> extends AsyncDisposable {
  /** The engine that started it: every action on the cluster goes through it. */
  readonly engine: Engine;
  readonly topology: Topology;
  readonly run: DockerRun;
  readonly nodes: N[];
  readonly image: string;
  /** Milliseconds from the call to start until every follower had caught up. */
  readonly readyMs: number;
  /** What the start set up that the run's record must keep (a backup tool's set-up and its own check). */
  readonly notes: string[];
  readonly runId: string;
  node(name: string): N;
  /** The node that is primary now (it changes on failover or restore). */
  primary(): N;
  /** Replicas still following a primary (not lost, not promoted). */
  replicas(): N[];
  archive(): N | undefined;
  /** Makes `node` the primary; the previous primary is retired. */
  setPrimary(node: N): void;
  /** Loses a whole failure domain: its nodes are removed, its storage deleted. */
  loseDomain(domain: string): Promise<{ nodes: string[]; volume: string }>;
  stop(): Promise<void>;
}

/** What a corruption kind did, for the silent-corruption fault. */
export interface Corruption {
  detail: string;
  /** The damage did not take effect (overwritten, never read), and why. */
  noEffect?: string;
}

export interface CorruptionOptions {
  kind: string;
  /** How many places to damage, and how many bytes at each. */
  places: number;
  bytes: number;
  /** Restart the server so it reads the damage back from disk. */
  evict: boolean;
  random: Random;
  /** PostgreSQL: the table whose heap or index is damaged. */
  table?: string;
}

export interface RestoreOptions {
  /** The failure domain the restored node's volume is created in. */
  domain: string;
  /** Restore to this wall-clock time instead of the end of the backups. */
  targetTime?: Date;
}

export interface RunbookOptions {
  /** A shell command line, run with /bin/sh -c from the current folder. */
  command: string;
  /** The runbook's whole process group is stopped after this long. */
  budgetMs: number;
  /** Where the prepared empty node's volume goes. */
  domain: string;
  /** The run's folder: context.json, result.json and runbook.log go in `runbook/` there. */
  dir: string;
  log: (line: string) => void;
}

/** An engine's part of running a user's runbook (the runner is recovery/runbook.ts). */
export interface RunbookAbility {
  /**
   * Prepares what an operator would have: an empty node in `domain`, and the runbook's context
   * (written to context.json) and environment (FAULTLINE_EMPTY_NODE, how to reach the servers, …).
   */
  prepare(cluster: StartedCluster, options: { domain: string }): Promise<{ context: unknown; env: Record<string, string> }>;
  /** One look at whether the node the runbook named accepts writes, and what was seen. */
  acceptsWrites(node: ClusterNode): Promise<{ accepts: boolean; state: string }>;
}

/** A scratch node being started for the rehearsal (the engine's own node handle, once started). */
export type ScratchNode = Promise<unknown>;

/** What the restore rehearsal restored: the ledger as the scratch node holds it. */
export interface Rehearsed {
  detail: string;
  node: string;
  rows: Record<string, string>;
}

/** How to start a cluster. */
export interface StartOptions {
  /** Progress lines ("starting 3 node containers"), for a CLI or a test log. */
  log?: (line: string) => void;
  /** Use this image instead of building/reusing the node image. */
  image?: string;
  runId?: string;
  /** How long followers may take to catch up. Default 60 s. */
  readyTimeoutMs?: number;
  /** Stack faultfs on every node's volume (faults `io-error` and `power-loss` need it). */
  faultfs?: FaultfsOptions;
  /**
   * Keep every node's logs here (`<dir>/<node>/`: the server's, its archiver's and backup tool's,
   * the container's output), collected before its containers are removed, whatever ended the run.
   */
  logsDir?: string;
}

/** An engine's own workload options: the keys it reads, and how it checks them. */
export interface WorkloadOptionsParser {
  readonly keys: readonly string[];
  parse(given: Record<string, unknown>, topology: Topology, where: string): Partial<WorkloadOptions>;
}

/** One storage system behind faultline. */
export interface Engine {
  readonly name: EngineName;
  /** For people: 'PostgreSQL', 'Redis / Valkey'. */
  readonly label: string;
  /** The silent-corruption kinds this engine has, the first being the default. */
  readonly corruptionKinds: readonly string[];
  /** The recovery actions it can take (a runbook is the `runbooks` ability). */
  readonly recoveryActions: ReadonlyArray<'failover' | 'restore'>;
  /** Its section of a topology file: schema, checks and the validated form. */
  readonly topology: TopologySection;
  /** Workload options only this engine has (Redis's `wait`), checked and turned into WorkloadOptions. */
  readonly workloadOptions?: WorkloadOptionsParser;
  /** The node image for a validated topology of this engine (built once, then reused); returns its tag. */
  image(topology: Topology, options: { log?: (line: string) => void }): Promise<string>;
  /** Starts the cluster an already validated topology describes and resolves when it is ready. */
  start(topology: Topology, options: StartOptions): Promise<StartedCluster>;
  /** Makes the ledger ready on the primary; returns the server's version line for the result. */
  prepare(cluster: StartedCluster): Promise<string>;
  workload(cluster: StartedCluster, history: HistoryWriter, options: WorkloadOptions): Workload;
  readFinalState(cluster: StartedCluster, options: { now: () => number }): Promise<FinalState>;
  /** A fresh backup of the primary into the backup node's repository. */
  freshBackup(cluster: StartedCluster): Promise<string>;
  failover(cluster: StartedCluster): Promise<string>;
  restore(cluster: StartedCluster, options: RestoreOptions): Promise<string>;
  /** Runbooks (`recovery.try: ['runbook']`): what this engine hands a user's runbook. */
  readonly runbooks?: RunbookAbility;
  /** After a failover, the former primary follows the new one. */
  rejoin(cluster: StartedCluster): Promise<string>;
  /** After the primary changed, the backup node follows the new one. */
  followPrimary(cluster: StartedCluster): Promise<string>;
  /**
   * The restore rehearsal, in two steps: first everything acknowledged so far is made to reach the
   * backups (the result says how, or throws saying why not); then the latest backup is restored
   * into a scratch node that serves nothing, and its ledger read.
   */
  prepareRehearsal(cluster: StartedCluster): Promise<string>;
  /** What prepareRehearsal makes the backups hold, in words: 'the last archived WAL switch'. */
  readonly rehearsalCutoff: string;
  rehearse(cluster: StartedCluster, options: { domain: string; scratch?: ScratchNode }): Promise<Rehearsed>;
  /**
   * Starts the rehearsal's scratch node ahead of time: an empty node in `domain` that serves
   * nothing and is not one of the cluster's nodes until `rehearse` takes it. Engines without it
   * start the scratch node in `rehearse`.
   */
  startScratchNode?(cluster: StartedCluster, options: { domain: string }): ScratchNode;
  corrupt(cluster: StartedCluster, node: ClusterNode, options: CorruptionOptions): Promise<Corruption>;
  /**
   * When a phase passed its bound: what the servers show of having stopped serving (a commit waiting
   * for a synchronous standby, a backend waiting on a lock or on I/O), one line each, quoting the
   * server's own view; empty when they show nothing of the kind. Never throws for a server that
   * does not answer: that is said as a line too. Engines without it have every stall taken as
   * faultline's own.
   */
  diagnoseStall?(cluster: StartedCluster): Promise<string[]>;
  /** The cluster's own HA manager, when its topology has one: it fails over, faultline watches. */
  manager?(cluster: StartedCluster): HaManager | undefined;
  /** The name of the HA manager a validated topology runs ('sentinel'), if any. */
  managerOf?(topology: Topology): string | undefined;
  /** `faultline prove-backup`: restoring a user's real backups into a scratch node, and proving them. */
  readonly proveBackup?: ProveBackupAbility;
  /** The archive-gap fault: the newest backup in the repository is removed or damaged. */
  damageBackup(cluster: StartedCluster, node: ClusterNode, how: 'remove' | 'damage', random: Random): Promise<Corruption>;
}
