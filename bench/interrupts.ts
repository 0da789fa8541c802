// Benchmark: signals at any moment leave nothing. Runs `faultline run sidekick-hardened` (an I/O
// stall, silent corruption and the loss of a whole SAN, a failover, a restore rehearsal) as a user
// would, and interrupts each run at a random moment of one of its phases, in turn: cluster start,
// workload, fault active (the I/O stall, from the moment it is being applied), recovery, restore
// rehearsal (a scratch node starting), final read, clean-up. SIGINT and SIGTERM alternate; every fifth run gets a second signal soon after
// the first (a forced clean-up). It counts what each run left 30 s after its signal: containers,
// networks and volumes labelled with the run (or with the faultline process that made it), and loop
// devices backed by the run's images; it then removes any leftover (doctor's path).
// Target: 0 leaked, every clean-up within 30 s. Run: npm run bench:interrupts [-- --runs N --seed S]
// (100 runs by default, 10 when CI=true).

import { postgresImage } from '../harness/engines/postgres/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { getEngine, LABEL_OWNER_PID, LABEL_RUN } from '../harness/cluster/docker/index.ts';
import { diagnose, listLoopDevices } from '../harness/cluster/docker/doctor.ts';
import { seededRandom } from '../harness/random.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: process.env.CI ? '10' : '100' }, seed: { type: 'string', default: '1' }, experiment: { type: 'string', default: 'sidekick-hardened' } },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
  console.error(`--runs must be a whole number of runs, 1 or more, and --seed a whole number: got '${values.runs}', '${values.seed}'`);
  process.exit(2);
}

/** Where each phase begins (a progress line of `faultline run`), and how far into it to interrupt at most. */
const PHASES: Array<{ name: string; begins: RegExp; withinMs: number }> = [
  { name: 'cluster start', begins: /: starting cluster/, withinMs: 2000 },
  { name: 'workload', begins: /: workload: /, withinMs: 1500 },
  { name: 'fault active', begins: /fault io-stall on \S+ for/, withinMs: 1000 },
  { name: 'recovery', begins: /recovery: failover$/m, withinMs: 400 },
  { name: 'restore rehearsal', begins: /: restore rehearsal$/m, withinMs: 1200 },
  { name: 'final read', begins: /: reading final state/, withinMs: 500 },
  { name: 'clean-up', begins: /: removing cluster/, withinMs: 1000 },
];
const LEAK_BOUND_MS = 30_000;

interface Leftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
  loopDevices: string[];
}

/** What a run left: by its id, and by the process that made it (for what it made before saying its id). */
async function leftovers(runId: string | undefined, pid: number): Promise<Leftovers> {
  const { docker } = await getEngine();
  const byPid = JSON.stringify({ label: [`${LABEL_OWNER_PID}=${pid}`] });
  const byRun = runId ? JSON.stringify({ label: [`${LABEL_RUN}=${runId}`] }) : undefined;
  const both = async <T>(list: (filters: string) => Promise<T[]>, name: (item: T) => string) => {
    const names = new Set<string>();
    for (const filters of [byPid, ...(byRun ? [byRun] : [])]) for (const item of await list(filters)) names.add(name(item));
    return [...names];
  };
  return {
    containers: await both((filters) => docker.listContainers({ all: true, filters }), (c) => c.Names[0] ?? c.Id),
    networks: await both((filters) => docker.listNetworks({ filters }), (n) => n.Name),
    volumes: await both(async (filters) => (await docker.listVolumes({ filters })).Volumes ?? [], (v) => v.Name),
    loopDevices: runId ? (await listLoopDevices()).filter((l) => l.runId === runId).map((l) => `${l.device} ${l.backingFile}`) : [],
  };
}

const count = (found: Leftovers) => found.containers.length + found.networks.length + found.volumes.length + found.loopDevices.length;

interface Outcome {
  phase: string;
  interrupted: boolean;
  second: boolean;
  cleanupMs: number;
  exitCode: number | undefined;
  left: Leftovers;
  problem?: string;
}

await postgresImage(undefined, { log: (line: string) => console.error(line) });
const out = mkdtempSync(join(tmpdir(), 'faultline-interrupts-bench-'));
const random = seededRandom(seed);
const outcomes: Outcome[] = [];
const started = performance.now();

for (let i = 0; i < runs; i++) {
  const phase = PHASES[i % PHASES.length]!;
  const offsetMs = Math.round(random() * phase.withinMs);
  const signal = i % 2 === 0 ? 'SIGINT' : 'SIGTERM';
  const secondAfterMs = i % 5 === 4 ? Math.round(random() * 1000) : undefined;
  const child = execa('node', ['harness/cli.ts', 'run', values.experiment!, '--out', out, '--seed', String(seed + i)], { reject: false, all: true });
  let output = '';
  let ended = false;
  let signalAt: number | undefined;
  const signalled = new Promise<void>((resolve) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (signalAt !== undefined || !phase.begins.test(output)) return;
      signalAt = -1;
      setTimeout(() => {
        if (ended) return resolve();
        signalAt = performance.now();
        child.kill(signal);
        if (secondAfterMs !== undefined) setTimeout(() => child.kill(signal), secondAfterMs);
        resolve();
      }, offsetMs);
    });
    void child.finally(() => {
      ended = true;
      resolve();
    });
  });
  await signalled;
  const result = await child;
  const endedAt = performance.now();
  const interrupted = signalAt !== undefined && signalAt > 0;
  const runId = /run ([0-9a-f]{8}):/.exec(output)?.[1];
  // What is left once the signal is 30 s old (the clean-up's bound), looking again until then.
  let left = await leftovers(runId, child.pid!);
  while (count(left) > 0 && performance.now() < (interrupted ? signalAt! : endedAt) + LEAK_BOUND_MS) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = await leftovers(runId, child.pid!);
  }
  const cleanupMs = interrupted ? endedAt - signalAt! : 0;
  const expected = signal === 'SIGINT' ? 130 : 143;
  let problem: string | undefined;
  if (interrupted && result.exitCode !== expected) problem = `exit ${result.exitCode}, not ${expected}`;
  else if (interrupted && !/clean-up done/.test(result.stderr)) problem = 'no "clean-up done"';
  else if (interrupted && cleanupMs > LEAK_BOUND_MS) problem = `clean-up took ${(cleanupMs / 1000).toFixed(1)} s`;
  else if (/exiting before run\(s\)/.test(result.stderr)) problem = 'the process exited before its clean-up ended (a detached process finished it)';
  outcomes.push({ phase: phase.name, interrupted, second: secondAfterMs !== undefined, cleanupMs, exitCode: result.exitCode, left, ...(problem ? { problem } : {}) });
  const what = interrupted
    ? `${signal} in ${phase.name} (+${offsetMs} ms)${secondAfterMs !== undefined ? `, again ${secondAfterMs} ms later` : ''}: exit ${result.exitCode} after ${(cleanupMs / 1000).toFixed(1)} s`
    : `ended (exit ${result.exitCode}) before ${phase.name} + ${offsetMs} ms: not interrupted`;
  const leftText = count(left) > 0 ? `LEFT ${JSON.stringify(left)}` : 'left nothing';
  console.log(`#${i + 1} run ${runId ?? '?'}: ${what}, ${leftText}${problem ? `; ${problem}` : ''}`);
  if (problem || count(left) > 0) console.log(result.all?.split('\n').slice(-25).join('\n'));
  // Leave the machine clean for the next run whatever happened (doctor's own path).
  if (runId && count(left) > 0) await diagnose(await getEngine(), { cleanup: true, all: true, only: runId }).catch(() => {});
}
rmSync(out, { recursive: true, force: true });

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const figures = (label: string, list: Outcome[]) => {
  const interrupted = list.filter((o) => o.interrupted);
  const sum = (key: keyof Leftovers) => list.reduce((n, o) => n + o.left[key].length, 0);
  const leaked = list.filter((o) => count(o.left) > 0).length;
  const times = interrupted.map((o) => o.cleanupMs / 1000);
  console.log(
    `${label}: ${list.length} runs, ${leaked} leaked (containers ${sum('containers')}, networks ${sum('networks')}, volumes ${sum('volumes')}, loop devices ${sum('loopDevices')}), ` +
      `clean-up p50 ${quantile(times, 0.5).toFixed(1)} s max ${Math.max(0, ...times).toFixed(1)} s` +
      (interrupted.length < list.length ? ` (${list.length - interrupted.length} ended before their moment)` : ''),
  );
};
console.log('');
for (const phase of PHASES) {
  const list = outcomes.filter((o) => o.phase === phase.name);
  if (list.length > 0) figures(`  ${phase.name}`, list);
}
figures('  second signal', outcomes.filter((o) => o.second));
figures('interrupts', outcomes);
const problems = outcomes.filter((o) => o.problem).length;
console.log(`${problems} run(s) with a problem (exit code, no clean-up line, clean-up over 30 s, or an exit before it ended); ${((performance.now() - started) / 60_000).toFixed(1)} min in all`);
// A leak fails the benchmark; a problem (an exit code, a slow clean-up) is printed, a figure to watch.
process.exit(outcomes.some((o) => count(o.left) > 0) ? 1 : 0);
