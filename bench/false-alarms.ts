// Benchmark: does faultline cry wolf? Every shipped drill whose configuration is safe (it declares
// no danger it shows: no `shows`) must pass on every seed: PostgreSQL and Redis, power loss and I/O
// errors, replicas and archives under the power loss included. The list comes from the experiments
// themselves, so a new safe drill is covered the day it ships. Runs each over N seeds (default 5; 1
// with CI=true) and prints passes/runs per drill and in total, and for each run that did not pass,
// the checks that failed and the command that replays it. The runs go side by side, as many at
// once as `faultline run --seeds` would run by default.
// Target: 100 %. Run: npm run bench:false-alarms [-- --seeds N]

import { postgresImage } from '../harness/engines/postgres/index.ts';
import { redisImage } from '../harness/engines/redis/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultParallel, runCampaign } from '../harness/campaign/index.ts';
import { experiments } from '../experiments/index.ts';

const SAFE = experiments.filter((e) => !e.shows).map((e) => e.name);

const { values } = parseArgs({ options: { seeds: { type: 'string', default: process.env.CI ? '1' : '5' } } });
const seeds = Number(values.seeds);
if (!Number.isInteger(seeds) || seeds < 1) {
  console.error(`--seeds must be a whole number of seeds, 1 or more: got '${values.seeds}'`);
  process.exit(2);
}

const out = mkdtempSync(join(tmpdir(), 'faultline-false-alarms-'));
const image = [await postgresImage(undefined, { log: (line: string) => console.error(line) }), await redisImage('redis', undefined, { log: (line: string) => console.error(line) }), await redisImage('valkey', undefined, { log: (line: string) => console.error(line) })].join(', ');
const started = performance.now();
// Side by side, as `faultline run --seeds` runs them by default: concurrency must not make a safe
// drill fail either.
const { parallel, why } = defaultParallel();
const plan = SAFE.flatMap((name) => {
  const definition = experiments.find((e) => e.name === name);
  if (!definition) throw new Error(`no shipped experiment named '${name}'`);
  return Array.from({ length: seeds }, (_, i) => ({ definition, source: name, seed: i + 1 }));
});
const outcomes = await runCampaign(plan, {
  parallel,
  outDir: out,
  prefixLogs: true,
  log: (line) => (line.startsWith('[') ? undefined : console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${line}`)),
});
const rows = SAFE.map((name) => {
  const mine = outcomes.filter((o) => o.entry.experiment === name);
  return { drill: name, passed: mine.filter((o) => o.entry.ok).length, runs: mine.length, failures: mine.filter((o) => !o.entry.ok).map((o) => `${o.entry.replay}: ${o.entry.why.join(' | ')}`) };
});
rmSync(out, { recursive: true, force: true });

const percent = (passed: number, runs: number) => `${((100 * passed) / runs).toFixed(0)} %`;
console.log(`false alarms: the ${SAFE.length} safe drills shipped (those that declare no danger), ${seeds} seed(s) each, ${parallel} at a time (${why}; images ${image})`);
const width = Math.max(...SAFE.map((name) => name.length)) + 2;
console.log(`  ${'drill'.padEnd(width)}${'passed/runs'.padStart(14)}${'rate'.padStart(8)}`);
for (const r of rows) console.log(`  ${r.drill.padEnd(width)}${`${r.passed}/${r.runs}`.padStart(14)}${percent(r.passed, r.runs).padStart(8)}`);
const passed = rows.reduce((a, r) => a + r.passed, 0);
const runs = rows.reduce((a, r) => a + r.runs, 0);
console.log(`  ${'total'.padEnd(width)}${`${passed}/${runs}`.padStart(14)}${percent(passed, runs).padStart(8)}   (target: 100 %)`);
console.log(`  wall time: ${((performance.now() - started) / 1000).toFixed(0)} s`);
for (const r of rows) for (const f of r.failures) console.log(`  did not pass: ${f}`);
