// When things happen in a run: moments are given from the start of the workload. An experiment
// that takes a fresh backup before its risky change gets what operators do: the change (every
// fault, step, recovery and the end of the workload scheduled after the backup) waits until the
// backup has finished, and keeps its spacing. A backup that overruns moves the rest later.
// Faults keep their order too: one does not begin on a node while a fault scheduled earlier is still
// acting on it or in the middle of healing it (a slow corruption is not cut short by the domain loss
// meant to follow it, nor a rollback's restart by a power loss), and recovery waits for every fault scheduled before it to have acted, and a fault scheduled after the
// recovery that names a role ('primary', 'replica') waits for the recovery to end, so that the role
// means what the recovery made of it. On a busy machine (clusters side by side) a fault or a
// failover can take longer than the schedule leaves it.

import { sleep } from '../wait.ts';

export interface TimetableOptions {
  /** performance.now() when the workload started. */
  start: number;
  /** When the fresh backup starts (ms from `start`); undefined when the experiment takes none. */
  backupAtMs?: number;
  /** Every other moment the experiment schedules (ms from `start`). */
  moments: number[];
  /** The longest the change waits for the backup; past it, the schedule goes on (the backup still runs). */
  maxWaitMs?: number;
  /** Told once when the change begins later than planned, and whether it stopped waiting for a backup still running. */
  onShift?: (shiftMs: number, gaveUpWaiting: boolean) => void;
}

/**
 * A fault's place in the order: `begin` waits for earlier faults on the same nodes, `end` says it
 * has acted, `healing` says its heal has begun and returns what to call when the heal is over.
 */
export interface FaultOrder {
  begin: (nodes: readonly string[]) => Promise<number>;
  end: () => void;
  healing: () => () => void;
}

/** A fault of the schedule: when it was planned, the nodes it acts on (once known), when it has acted, and its heal while one runs. */
interface Acting {
  atMs: number;
  nodes: ReadonlySet<string> | undefined;
  done: Promise<void>;
  healing?: Promise<void>;
}

export class Timetable {
  readonly start: number;
  #acting: Acting[] = [];
  #backupAtMs: number | undefined;
  #firstGated: number;
  #maxWaitMs: number;
  #onShift: TimetableOptions['onShift'];
  #shiftMs = 0;
  #released = false;
  #open: Promise<void>;
  #release!: () => void;
  #recoveryAtMs: number | undefined;
  #recoveryEnd!: () => void;
  #recoveryDone = new Promise<void>((resolve) => (this.#recoveryEnd = resolve));

  constructor({ start, backupAtMs, moments, maxWaitMs = 120_000, onShift }: TimetableOptions) {
    this.start = start;
    this.#backupAtMs = backupAtMs;
    this.#maxWaitMs = maxWaitMs;
    this.#onShift = onShift;
    this.#firstGated = Math.min(...moments.filter((m) => this.#gated(m)));
    this.#open = new Promise<void>((resolve) => (this.#release = resolve));
    if (backupAtMs === undefined) this.#released = true;
  }

  #gated(atMs: number): boolean {
    return this.#backupAtMs !== undefined && atMs > this.#backupAtMs;
  }

  /** How much later than planned the change runs, because the backup overran. */
  get shiftMs(): number {
    return this.#shiftMs;
  }

  /** The backup has ended (done or failed): the change may begin. Only the first call counts. */
  backupEnded(gaveUpWaiting = false): void {
    if (this.#released) return;
    this.#released = true;
    if (Number.isFinite(this.#firstGated)) this.#shiftMs = Math.max(0, Math.round(performance.now() - (this.start + this.#firstGated)));
    if (this.#shiftMs > 0) this.#onShift?.(this.#shiftMs, gaveUpWaiting);
    this.#release();
  }

  /** performance.now() of a scheduled moment, once known (after the backup, for gated moments). */
  time(atMs: number): number {
    return this.start + atMs + (this.#gated(atMs) ? this.#shiftMs : 0);
  }

  /**
   * Registers a fault planned for `atMs` (call before waiting for its moment). `begin(nodes)` waits
   * until no fault planned earlier is still acting on any of these nodes, nor in the middle of
   * healing there (a volume rolled back and its server restarting), and returns how long it waited
   * (ms); `end()` says this one has acted (injected, failed or skipped). A heal that begins later
   * overlaps the new fault as planned.
   */
  fault(atMs: number): FaultOrder {
    let end!: () => void;
    const entry: Acting = { atMs, nodes: undefined, done: new Promise<void>((resolve) => (end = resolve)) };
    this.#acting.push(entry);
    return {
      begin: async (nodes) => {
        entry.nodes = new Set(nodes);
        const earlier = this.#acting.filter((a) => a.atMs < atMs && (a.nodes === undefined || nodes.some((n) => a.nodes!.has(n))));
        const from = performance.now();
        await Promise.all(earlier.map((a) => a.done));
        await Promise.all(earlier.map((a) => a.healing));
        return Math.round(performance.now() - from);
      },
      end,
      healing: () => {
        let healed!: () => void;
        entry.healing = new Promise<void>((resolve) => (healed = resolve));
        return () => {
          entry.healing = undefined;
          healed();
        };
      },
    };
  }

  /** The recovery planned for `atMs` (registered before anything waits for its moment). */
  planRecovery(atMs: number): void {
    this.#recoveryAtMs = atMs;
  }

  /** The recovery has ended (done or failed, follow-ups included): roles are settled. */
  recoveryEnded(): void {
    this.#recoveryEnd();
  }

  /**
   * For a fault planned at `atMs` that names a role: waits until a recovery planned before it has
   * ended (during a failover 'primary' is the old primary or the new one by chance); returns how
   * long it waited (ms).
   */
  async rolesSettled(atMs: number): Promise<number> {
    if (this.#recoveryAtMs === undefined || this.#recoveryAtMs >= atMs) return 0;
    const from = performance.now();
    await this.#recoveryDone;
    return Math.round(performance.now() - from);
  }

  /** Waits until every fault planned at or before `atMs` has acted (for recovery); returns how long it waited (ms). */
  async faultsActed(atMs: number): Promise<number> {
    const from = performance.now();
    await Promise.all(this.#acting.filter((a) => a.atMs <= atMs).map((a) => a.done));
    return Math.round(performance.now() - from);
  }

  /** Waits until a scheduled moment: for one after the backup, first until the backup has ended. */
  async until(atMs: number): Promise<void> {
    if (this.#gated(atMs) && !this.#released) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.start + this.#backupAtMs! + this.#maxWaitMs - performance.now())));
      const gaveUp = await Promise.race([this.#open.then(() => false), timeout.then(() => true)]);
      clearTimeout(timer);
      this.backupEnded(gaveUp);
    }
    await sleep(this.time(atMs) - performance.now());
  }
}
