// Clean-up on SIGINT/SIGTERM. Every run registers itself here while it holds Docker resources; on a
// signal each run is told to stop, its in-flight Docker calls are allowed to settle (so a container
// being created is not missed), and its resources are removed by label before the process exits.

import { InterruptedError, describeError } from '../../errors.ts';

export interface InterruptibleRun {
  readonly id: string;
  /** Stops the run at its next step and waits (bounded) for Docker calls in flight. */
  interrupt(reason: string): Promise<void>;
  cleanup(): Promise<void>;
}

const active = new Set<InterruptibleRun>();
let installed = false;
let interrupting = false;

let exitGuard = false;

export function trackRun(run: InterruptibleRun): () => void {
  // Once clean-up began, no new run may start (a campaign's next pair): it would be missed.
  if (interrupting) throw new InterruptedError('Interrupted: clean-up is under way, no new run starts');
  active.add(run);
  if (!exitGuard) {
    exitGuard = true;
    // Node ends a process whose event loop ran dry (an await on something that holds no timer or
    // socket) without any signal: clean up what is still running before that happens.
    process.on('beforeExit', () => {
      if (active.size === 0 || interrupting) return;
      process.stderr.write(`faultline: the process is ending with ${active.size} run(s) still up; removing them\n`);
      void Promise.allSettled([...active].map((r) => r.cleanup()));
    });
  }
  return () => active.delete(run);
}

export function activeRunCount(): number {
  return active.size;
}

/**
 * Installs SIGINT/SIGTERM/SIGHUP handlers (and one for uncaught errors) that clean up every active
 * run, then exit with 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP) or 3. A second signal during
 * clean-up is refused: leaking containers or loop devices would hurt the machine more than waiting.
 */
export function installInterruptCleanup(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): void {
  if (installed) return;
  installed = true;
  const safeLog = (line: string) => {
    try {
      log(line);
    } catch {
      // the terminal is gone; clean up all the same
    }
  };
  const shutdown = (why: string, exitCode: number) => {
    if (interrupting) {
      safeLog(`faultline: still cleaning up after ${why}; please wait (containers and loop devices must not leak)`);
      return;
    }
    interrupting = true;
    const runs = [...active];
    safeLog(`faultline: ${why}, cleaning up ${runs.length} run(s)…`);
    void Promise.allSettled(
      runs.map(async (run) => {
        await run.interrupt(`interrupted (${why})`);
        await run.cleanup();
      }),
    ).then((results) => {
      for (const result of results) {
        if (result.status === 'rejected') safeLog(`faultline: clean-up failed: ${describeError(result.reason)}`);
      }
      safeLog('faultline: clean-up done');
      process.exit(exitCode);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT received', 130));
  process.on('SIGTERM', () => shutdown('SIGTERM received', 143));
  process.on('SIGHUP', () => shutdown('SIGHUP received', 129));
  process.on('uncaughtException', (error) => {
    safeLog(`faultline: internal error: ${error.stack ?? error.message}`);
    shutdown('internal error', 3);
  });
}
