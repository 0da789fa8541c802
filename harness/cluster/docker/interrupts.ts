// Clean-up on SIGINT/SIGTERM/SIGHUP. Every run registers itself here while it holds Docker
// resources; on a signal each run is told to stop, its volumes are thawed, its in-flight Docker calls
// get a moment to settle (so a container being created is not missed), its logs are kept, and its
// resources are removed by label before the process exits: all within 30 s. A second signal, or
// clean-up still running after FORCE_AFTER_MS, forces it: thaw and remove at once.

import { spawn } from 'node:child_process';
import { InterruptedError, describeError } from '../../errors.ts';

export interface InterruptibleRun {
  readonly id: string;
  /** Stops the run at its next step and waits (bounded) for Docker calls in flight. */
  interrupt(reason: string): Promise<void>;
  cleanup(): Promise<void>;
  /** After clean-up: removes what Docker calls still in flight made meanwhile (bounded). */
  sweep(): Promise<void>;
  /** Thaws and removes everything now, waiting for nothing else (bounded). */
  forceCleanup(): Promise<void>;
}

/** A clean-up still running this long after the signal is forced, as a second signal would. */
export const FORCE_AFTER_MS = 15_000;
/** The process exits this long after the signal whatever is left: a detached process finishes the removal. */
const GIVE_UP_AFTER_MS = 30_000;

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

/** Whether a signal's clean-up is under way: waits are then short, and volumes are thawed first. */
export function interruptInProgress(): boolean {
  return interrupting;
}

/**
 * Installs SIGINT/SIGTERM/SIGHUP handlers (and one for uncaught errors) that clean up every active
 * run, then exit with 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP) or 3.
 *
 * The first signal cleans up in order: the run stops, its volumes are thawed, Docker calls in flight
 * get 3 s, its nodes' logs are kept, and everything is removed. A second signal (or that clean-up
 * still running after 15 s) forces it: every volume is thawed and every container, network, volume
 * and loop device removed at once, without waiting for calls in flight or logs; the logs not yet
 * copied are lost. Loop devices are never left behind, forced or not: they belong to the whole
 * machine. Later signals are told to wait for the forced clean-up, which ends within about 12 s.
 * Should the process end before its runs are removed (an exit called elsewhere, or 30 s passed), a
 * detached process finishes removing them.
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
  // A terminal that went away (SIGHUP) fails writes later, as an 'error' event: that must not
  // become an uncaught error that forces the clean-up.
  process.stderr.on('error', () => {});
  let runs: InterruptibleRun[] = [];
  /** Runs whose clean-up has not ended yet. */
  const unfinished = new Set<string>();
  let code = 0;
  let forcing = false;
  let exiting = false;
  const exit = (results: PromiseSettledResult<unknown>[], what: string) => {
    if (exiting) return;
    exiting = true;
    unfinished.clear();
    for (const result of results) {
      if (result.status === 'rejected') safeLog(`faultline: clean-up failed: ${describeError(result.reason)}`);
    }
    safeLog(`faultline: ${what}`);
    process.exit(code);
  };
  const force = (why: string) => {
    if (forcing) {
      safeLog(`faultline: ${why}; the forced clean-up is under way and ends within seconds (containers and loop devices must not leak)`);
      return;
    }
    forcing = true;
    safeLog(`faultline: ${why}: forcing clean-up (thawing and removing ${runs.length} run(s) now, without waiting for logs)`);
    void Promise.allSettled(runs.map((run) => run.forceCleanup().finally(() => unfinished.delete(run.id)))).then((results) => exit(results, 'clean-up done (forced)'));
  };
  const shutdown = (why: string, exitCode: number) => {
    if (interrupting) {
      force(`${why} again`);
      return;
    }
    interrupting = true;
    code = exitCode;
    runs = [...active];
    for (const run of runs) unfinished.add(run.id);
    safeLog(`faultline: ${why}, cleaning up ${runs.length} run(s)… (a second signal forces it)`);
    setTimeout(() => force(`clean-up still running after ${FORCE_AFTER_MS / 1000} s`), FORCE_AFTER_MS).unref();
    setTimeout(() => {
      safeLog(`faultline: clean-up did not end within ${GIVE_UP_AFTER_MS / 1000} s`);
      process.exit(code);
    }, GIVE_UP_AFTER_MS).unref();
    void Promise.allSettled(
      runs.map(async (run) => {
        await run.interrupt(`interrupted (${why})`);
        await run.cleanup();
        await run.sweep();
        unfinished.delete(run.id);
      }),
    ).then((results) => exit(results, 'clean-up done'));
  };
  // The last resort: the process is ending (an exit called elsewhere, or the give-up above) while
  // runs are still being removed. A detached process finishes removing them, so nothing is left
  // behind however this one ends.
  process.on('exit', () => {
    if (unfinished.size === 0) return;
    const ids = [...unfinished];
    try {
      spawn(process.execPath, ['--input-type=module', '-e', REAPER, ...reaperModules(), ...ids], { detached: true, stdio: 'ignore' }).unref();
      safeLog(`faultline: exiting before run(s) ${ids.join(', ')} were removed; a process of its own will finish removing them`);
    } catch (error) {
      safeLog(`faultline: exiting before run(s) ${ids.join(', ')} were removed (${describeError(error)}); run 'faultline doctor --cleanup'`);
    }
  });
  process.on('SIGINT', () => shutdown('SIGINT received', 130));
  process.on('SIGTERM', () => shutdown('SIGTERM received', 143));
  process.on('SIGHUP', () => shutdown('SIGHUP received', 129));
  process.on('uncaughtException', (error) => {
    safeLog(`faultline: internal error: ${error.stack ?? error.message}`);
    shutdown('internal error', 3);
  });
}

/** The detached process that finishes removing runs: two passes, the second for what calls in flight made. */
const REAPER = `
const [engineModule, runModule, ...ids] = process.argv.slice(1);
const { getEngine } = await import(engineModule);
const { removeRunResources } = await import(runModule);
const engine = await getEngine();
for (const pass of [1, 2]) {
  if (pass === 2) await new Promise((resolve) => setTimeout(resolve, 3000));
  for (const id of ids) await removeRunResources(engine, id).catch(() => {});
}
process.exit(0);
`;

/** The modules the reaper imports, beside this one (.ts when run from source, .js when built). */
function reaperModules(): string[] {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return [new URL(`./engine${extension}`, import.meta.url).href, new URL(`./docker-run${extension}`, import.meta.url).href];
}
