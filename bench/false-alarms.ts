// Benchmark: does faultline cry wolf? The drills whose configuration is safe must pass on every
// seed. Runs each over N seeds (default 5) and prints passes/runs per drill and in total, and for
// each run that did not pass, the checks that failed and the command that replays it.
// Target: 100 %. Run: npm run bench:false-alarms [-- --seeds N]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureNodeImage } from '../harness/cluster/docker/index.ts';
import { runExperiment } from '../harness/experiment/index.ts';
import { experiments } from '../experiments/index.ts';

const SAFE = ['healthy', 'sync-failover', 'pitr-restore', 'disk-full', 'sidekick-hardened', 'torn-page-fpw-on', 'redis-crash-aof-everysec', 'redis-sidekick-hardened'];

const { values } = parseArgs({ options: { seeds: { type: 'string', default: '5' } } });
const seeds = Number(values.seeds);
if (!Number.isInteger(seeds) || seeds < 1) {
  console.error(`--seeds must be a whole number of seeds, 1 or more: got '${values.seeds}'`);
  process.exit(2);
}

const out = mkdtempSync(join(tmpdir(), 'faultline-false-alarms-'));
const image = await ensureNodeImage({ log: (line) => console.error(line) });
const started = performance.now();
const rows: Array<{ drill: string; passed: number; runs: number; failures: string[] }> = [];
for (const name of SAFE) {
  const definition = experiments.find((e) => e.name === name);
  if (!definition) throw new Error(`no shipped experiment named '${name}'`);
  const row = { drill: name, passed: 0, runs: 0, failures: [] as string[] };
  for (let seed = 1; seed <= seeds; seed++) {
    const result = await runExperiment(definition, { outDir: out, seed, image });
    row.runs++;
    if (result.verdict === 'pass') row.passed++;
    else {
      const why = result.checks.filter((c) => c.valid === false || c.valid === 'unknown').map((c) => `${c.name}: ${c.summary}`);
      row.failures.push(`faultline run ${name} --seed ${seed}: ${[...why, ...(result.error ? [`run error: ${result.error}`] : [])].join(' | ')}`);
    }
    console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${name} seed ${seed}: ${result.verdict}`);
  }
  rows.push(row);
}
rmSync(out, { recursive: true, force: true });

const percent = (passed: number, runs: number) => `${((100 * passed) / runs).toFixed(0)} %`;
console.log(`false alarms: safe drills over ${seeds} seed(s) each (image ${image})`);
console.log(`  ${'drill'.padEnd(20)}${'passed/runs'.padStart(14)}${'rate'.padStart(8)}`);
for (const r of rows) console.log(`  ${r.drill.padEnd(20)}${`${r.passed}/${r.runs}`.padStart(14)}${percent(r.passed, r.runs).padStart(8)}`);
const passed = rows.reduce((a, r) => a + r.passed, 0);
const runs = rows.reduce((a, r) => a + r.runs, 0);
console.log(`  ${'total'.padEnd(20)}${`${passed}/${runs}`.padStart(14)}${percent(passed, runs).padStart(8)}   (target: 100 %)`);
console.log(`  wall time: ${((performance.now() - started) / 1000).toFixed(0)} s`);
for (const r of rows) for (const f of r.failures) console.log(`  did not pass: ${f}`);
