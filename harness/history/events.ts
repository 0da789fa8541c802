// The history: one record of everything that happened in a run, in order. Operations are recorded
// twice, when invoked and when they complete (ok: acknowledged; fail: definitely not applied; info:
// indeterminate). Faults, recovery steps and shell commands go in the same record.

/** Milliseconds since the run started (monotonic clock). */
export type Millis = number;

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';
/** write: a unique key set to a value; append: a value appended to one ordered structure (a Redis list); read: a key read back. */
export type OpFunction = 'write' | 'read' | 'append';

export interface OpEvent {
  type: OpType;
  /** The client process; a process that saw an indeterminate result retires and a new id takes over. */
  process: number;
  f: OpFunction;
  key: number;
  /** The value written (write), or the value read (read ok; null when the key was absent). */
  value: string | null;
  /** The node the operation went to. */
  node: string;
  time: Millis;
  error?: string;
  /**
   * On an `ok` write: a warning that came with the acknowledgement, e.g. PostgreSQL's "the
   * transaction has already committed locally, but might not have been replicated" after a
   * cancelled synchronous wait. The write is acknowledged all the same; lost-writes counts these.
   */
  warning?: string;
  /**
   * On an `ok` write or append followed by Redis's WAIT or WAITAOF: what they returned (how many
   * replicas acknowledged the write; how many AOFs, local and on replicas, fsynced it) and whether
   * that met what was asked. A write is acknowledged either way; lost-writes names the confirmed
   * ones it finds lost.
   */
  confirmed?: { replicas?: number; aof?: [number, number]; met: boolean };
}

export interface FaultEvent {
  type: 'fault';
  /** start: injection invoked; active: the fault is in effect (injection returned); end: healed or over. */
  phase: 'start' | 'active' | 'end';
  name: string;
  /** The node, domain or link it acted on (a role in the schedule is resolved when the fault fires). */
  target: string;
  time: Millis;
  /** On active/end: what the fault could not model faithfully on this target (see Injected.caveat). */
  caveat?: string;
  /** Pairs the phases of one fault (several faults may share a name and target). */
  id?: string;
  /** On start: the target as the schedule wrote it, when that was a role ('primary'). */
  spec?: string;
  /** Disruptive faults count for RTO (their start is when the outage began). */
  disruptive?: boolean;
  /** On start: the schedule allows this fault to be skipped or to have no effect. */
  optional?: boolean;
  detail?: string;
  /** On end: the fault could not run on this machine, and why. It never pretends to have run. */
  skipped?: string;
  /** On active or end: the fault ran but did not take effect, and why (e.g. WAL replay overwrote the damage). */
  noEffect?: string;
  /** On end: the fault could not be injected (an error); the run did not test it. */
  failed?: string;
}

export interface RecoveryEvent {
  type: 'recovery';
  phase: 'start' | 'end';
  name: string;
  time: Millis;
  outcome?: 'ok' | 'failed';
  detail?: string;
  /** A step after the recovery action itself (the archive following the new primary, a rejoin). */
  followUp?: boolean;
}

/** A recovery action proper (failover, restore), not a follow-up step after it. */
export function isRecoveryAction(event: RecoveryEvent): boolean {
  return !event.followUp && event.name !== 'rejoin';
}

/**
 * A restore rehearsal: after the run's own recovery, the latest backup and the WAL archive are
 * restored into a scratch node that serves nothing, to prove they restore, and what it holds is
 * compared with the writes acknowledged before the WAL was last switched and archived.
 */
export interface RehearsalEvent {
  type: 'rehearsal';
  phase: 'start' | 'end';
  time: Millis;
  outcome?: 'ok' | 'failed';
  detail?: string;
  /**
   * Writes acknowledged before this moment are the ones the backup must hold: the moment the WAL
   * was switched on the current primary and that segment was archived, just before the rehearsal.
   */
  cutoff?: Millis;
  /** What the cutoff is, in words (default: 'the last archived WAL switch'; Redis: 'the last RDB copy'). */
  cutoffWhat?: string;
  acknowledged?: number;
  /** Of those, how many the restored scratch node lacks; the first of their keys. */
  missing?: number;
  missingKeys?: number[];
}

/** Run bookkeeping: start (with experiment and seed), phase changes, end. */
export interface RunEvent {
  type: 'run';
  /** `stalled`: a phase did not end within its bound (`deadline`, `boundMs`, `awaited`, `lastSeen`, `evidence`). */
  phase: 'start' | 'phase' | 'stalled' | 'end';
  time: Millis;
  name?: string;
  experiment?: string;
  seed?: number;
  runId?: string;
  /** Wall-clock time of this event (ISO 8601), so a history can be lined up with server logs. */
  wallTime?: string;
  /** On start: what the experiment tolerates, so the run can be checked again from its files. */
  expectations?: object;
  /** The change after a fresh backup began this much later than planned (the backup overran). */
  shiftMs?: number;
  /** On start: the bound on each phase (milliseconds). */
  deadlines?: Record<string, number>;
  /** On stalled: the phase, its bound, what it waited for and what was last seen. */
  deadline?: string;
  boundMs?: number;
  awaited?: string;
  lastSeen?: string;
  /**
   * On stalled: what the system under test showed when the bound passed (a commit waiting for a
   * synchronous standby, say). Empty when nothing showed it had stopped serving.
   */
  evidence?: string[];
}

/** A shell command run in a node, with its result, instead of letting it vanish. */
export interface ExecEvent {
  type: 'exec';
  time: Millis;
  node: string;
  command: string[];
  exitCode: number;
  output: string;
  durationMs: number;
}

/** A base backup taken during the run (the step before a risky change). */
export interface BackupEvent {
  type: 'backup';
  phase: 'start' | 'end';
  time: Millis;
  outcome?: 'ok' | 'failed';
  detail?: string;
}

/**
 * A role change the cluster's own HA manager made (or reported), recorded when faultline saw it:
 * `node` became `role`. `by` is the manager ('sentinel'); `detail` what it said, as it said it.
 */
export interface RoleEvent {
  type: 'role';
  node: string;
  role: 'primary' | 'replica';
  by: string;
  time: Millis;
  /** The node that was primary before, for a promotion. */
  previous?: string;
  detail?: string;
}

/**
 * What the cluster's own HA manager did or said, as faultline saw it: that faultline began watching
 * it (`detail` its settings), a member's own report (`said`, as it said it), the primary found down
 * by the manager (`detected`, the first such report), the server it chose to promote with where
 * every candidate stood (`chose`), and whether it settled on one primary after the workload
 * (`settled` / `unsettled`, with what each server said of its role).
 */
export interface ManagerEvent {
  type: 'manager';
  by: string;
  what: 'watching' | 'said' | 'detected' | 'chose' | 'settled' | 'unsettled';
  time: Millis;
  /** The node it is about (the primary found down, the server chosen), or the member that said it. */
  node?: string;
  detail: string;
  /**
   * `chose`: how far each candidate for promotion had got in the primary's stream when the manager
   * chose `node` (Redis: the replication offset processed; PostgreSQL: the WAL received, in bytes).
   */
  positions?: Record<string, number>;
}

export type HistoryEvent = OpEvent | FaultEvent | RecoveryEvent | BackupEvent | RehearsalEvent | RunEvent | ExecEvent | RoleEvent | ManagerEvent;

export function isOp(event: HistoryEvent): event is OpEvent {
  return event.type === 'invoke' || event.type === 'ok' || event.type === 'fail' || event.type === 'info';
}
