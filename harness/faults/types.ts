// What a fault is: one failure injected into one target, which returns how to heal it. Faults act
// on the cluster and record nothing themselves; the schedule records their start and end.

import type { ClusterNode, Engine, StartedCluster } from '../cluster/engine.ts';
import type { Topology } from '../cluster/topology.ts';
import type { Random } from '../random.ts';

/** What a fault can act on. */
export type TargetKind = 'node' | 'domain' | 'link';

/** A target resolved against the running cluster. */
export type ResolvedTarget =
  | { kind: 'node'; label: string; node: ClusterNode }
  | { kind: 'domain'; label: string; domain: string; nodes: ClusterNode[] }
  | { kind: 'link'; label: string; a: ClusterNode; b: ClusterNode };

export interface ParamSpec {
  description: string;
  /** 'text': any string without white space; 'fraction': a number from 0 to 1. */
  kind: 'duration' | 'size' | 'number' | 'choice' | 'text' | 'fraction';
  default?: string | number;
  choices?: string[];
}

export type ParamValues = Record<string, string | number>;

export interface FaultContext {
  cluster: StartedCluster;
  /** Seeded: the same seed corrupts the same bytes. */
  random: Random;
  log: (line: string) => void;
}

export interface Injected {
  /** What was done, for the history and the report (e.g. which blocks were overwritten). */
  detail: string;
  /**
   * Undoes the fault where that is possible; registered at once and always run, even on SIGINT.
   * It may find that the fault had no effect after all (an error rule no call matched).
   */
  heal?: () => Promise<string | void | Healed>;
  /**
   * The fault ran but did not take effect, and why (the damage was overwritten before anyone read
   * it, the segment was already gone). A run with such a fault did not test what it claims.
   */
  noEffect?: string;
  /**
   * Something about the target that the fault cannot model faithfully (a setting whose durability
   * faultfs cannot see): a loss or damage found after this fault is then `unknown`, never `fail`,
   * and the check says why. A pass stays a pass (such a gap can only make the fault harsher).
   */
  caveat?: string;
}

export interface Healed {
  detail: string;
  noEffect?: string;
}

/** The fault could not run on this machine (e.g. the kernel lacks a module): skipped, with why. */
export class FaultUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultUnavailable';
  }
}

export interface Fault {
  name: string;
  /** One line a user understands. */
  description: string;
  /** What a SAN upgrade (or ordinary storage trouble) does that this mirrors. */
  mirrors: string;
  targets: TargetKind[];
  /** For node targets: the roles the node must have (all when absent), checked before the run. */
  roles?: Array<'primary' | 'replica' | 'archive'>;
  /** Whether it interrupts service: the first disruptive fault starts the RTO clock. */
  disruptive: boolean;
  /** Whether it lasts `duration` and is then healed; permanent faults are never healed. */
  healable: boolean;
  params: Record<string, ParamSpec>;
  /**
   * The faultfs mode the fault needs on every node's volume from the start of the run ('errors':
   * faultfs stacked; 'lost-writes': also keeping un-fsynced data apart); absent when none.
   */
  faultfs?(params: ParamValues): 'errors' | 'lost-writes' | undefined;
  /** Checks the parameters against the engine before the run; returns what is wrong, if anything. */
  check?(topology: Topology, params: ParamValues, engine: Engine): string | undefined;
  inject(context: FaultContext, target: ResolvedTarget, params: ParamValues): Promise<Injected>;
}
