// Benchmark: what running clusters side by side buys. One fixed campaign (an experiment over a few
// seeds) run through the campaign code `faultline run --seeds` uses, first one cluster at a time
// (--parallel 1), then two at once (--parallel 2), on the same machine in one run; pairs per minute
// for each, and the speed-up (their ratio). Target: a speed-up of at least 1.5 on 2 cores.
// Run: npm run bench:campaign [-- --experiment NAME --seeds LIST]

import { postgresImage } from '../harness/engines/postgres/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSeeds, runCampaign } from '../harness/campaign/index.ts';
import { experiments } from '../experiments/index.ts';

const { values } = parseArgs({ options: { experiment: { type: 'string', default: 'healthy' }, seeds: { type: 'string', default: '1..4' } } });
const definition = experiments.find((e) => e.name === values.experiment);
if (!definition) {
  console.error(`--experiment: no shipped experiment named '${values.experiment}' ('faultline list' shows them)`);
  process.exit(2);
}
const seeds = parseSeeds(values.seeds);
const image = await postgresImage(undefined, { log: (line: string) => console.error(line) });
const out = mkdtempSync(join(tmpdir(), 'faultline-campaign-bench-'));

const rows: Array<{ parallel: number; ms: number; passed: number }> = [];
for (const parallel of [1, 2]) {
  const started = performance.now();
  const outcomes = await runCampaign(
    seeds.map((seed) => ({ definition, source: definition.name, seed })),
    { parallel, outDir: join(out, `parallel-${parallel}`), prefixLogs: true, log: (line) => (line.startsWith('[') ? undefined : console.error(`--parallel ${parallel}: ${line}`)) },
  );
  rows.push({ parallel, ms: performance.now() - started, passed: outcomes.filter((o) => o.entry.ok).length });
}
rmSync(out, { recursive: true, force: true });

const perMinute = (r: { ms: number }) => (seeds.length * 60_000) / r.ms;
console.log(`campaign: ${definition.name} over seeds ${values.seeds} (${seeds.length} pairs), image ${image}, ${availableParallelism()} core(s)`);
for (const r of rows) {
  console.log(`  --parallel ${r.parallel}: ${(r.ms / 1000).toFixed(1).padStart(6)} s, ${perMinute(r).toFixed(2)} pairs per minute (${r.passed}/${seeds.length} passed)`);
}
console.log(`  speed-up --parallel 2 / --parallel 1: ${(perMinute(rows[1]!) / perMinute(rows[0]!)).toFixed(2)} (target at least 1.5 on 2 cores)`);
