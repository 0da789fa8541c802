// Benchmark: the wall time of `faultline run sidekick` (both experiments, run side by side as the
// command runs them: the same campaign code, as many at once as the machine holds), split into
// phases so the slowest one is visible: image, cluster start, workload (with its faults and
// recovery inside), restore rehearsal, final read, clean-up and checks; and, inside the workload,
// the time spent in faults and recovery.
// Target: the pair in under 20 s on a 2-core machine with the image cached.
// Run: npm run bench:drill

import { postgresImage } from '../harness/engines/postgres/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultParallel, runCampaign } from '../harness/campaign/index.ts';
import { readHistory, type HistoryEvent } from '../harness/history/index.ts';
import sidekickNaive from '../experiments/sidekick-naive.ts';
import sidekickHardened from '../experiments/sidekick-hardened.ts';

const out = mkdtempSync(join(tmpdir(), 'faultline-drill-bench-'));
const started = performance.now();
const imageStart = performance.now();
const image = await postgresImage(15, { log: (line: string) => console.error(line) });
const imageMs = performance.now() - imageStart;

function phaseTimes(events: HistoryEvent[], totalMs: number) {
  const at = (name: string) => events.find((e) => e.type === 'run' && e.phase === 'phase' && e.name?.startsWith(name))?.time;
  const spans = (type: 'fault' | 'recovery') =>
    events
      .filter((e) => e.type === type && e.phase === 'start')
      .map((start) => {
        const end = events.find((e) => e.type === type && e.phase === 'end' && e.time >= start.time && e.name === (start as { name: string }).name);
        return (end?.time ?? start.time) - start.time;
      })
      .reduce((a, b) => a + b, 0);
  const clusterStart = at('starting cluster') ?? 0;
  const workload = at('workload') ?? clusterStart;
  const finalRead = at('reading final state') ?? workload;
  const rehearsal = at('restore rehearsal') ?? finalRead;
  const removing = at('removing cluster') ?? finalRead;
  const end = events.find((e) => e.type === 'run' && e.phase === 'end')?.time ?? removing;
  return {
    'cluster start': workload - clusterStart,
    workload: rehearsal - workload,
    '  of which faults': spans('fault'),
    '  of which recovery': spans('recovery'),
    'restore rehearsal': finalRead - rehearsal,
    'final read': removing - finalRead,
    'clean-up': end - removing,
    checks: totalMs - end,
  };
}

const rows: Array<[string, Record<string, number>, number]> = [];
const { parallel, why } = defaultParallel();
const pairStart = performance.now();
const outcomes = await runCampaign(
  [sidekickNaive, sidekickHardened].map((definition) => ({ definition, source: definition.name, seed: 1 })),
  { parallel, outDir: out, log: () => {} },
);
const pairMs = performance.now() - pairStart;
for (const { result } of outcomes) {
  const { events } = readHistory(join(result.dir, 'history.jsonl'));
  rows.push([result.experiment, phaseTimes(events, result.timings.totalMs), result.timings.totalMs]);
}
const totalMs = performance.now() - started;
rmSync(out, { recursive: true, force: true });

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`.padStart(8);
console.log(`drill: faultline run sidekick, phase by phase (image ${image})`);
console.log(`  ${'phase'.padEnd(22)}${rows.map(([name]) => name.padStart(20)).join('')}`);
console.log(`  ${'image (shared)'.padEnd(22)}${s(imageMs).padStart(20)}`);
for (const phase of Object.keys(rows[0]![1])) console.log(`  ${phase.padEnd(22)}${rows.map(([, p]) => s(p[phase]!).padStart(20)).join('')}`);
console.log(`  ${'experiment total'.padEnd(22)}${rows.map(([, , t]) => s(t).padStart(20)).join('')}`);
console.log(`  wall time of the pair: ${s(pairMs).trim()}, ${Math.min(parallel, 2)} at a time (${why}) (target: under 20 s)`);
console.log(`  with the image check: ${s(totalMs).trim()}; the two experiments' own times add up to ${s(rows.reduce((a, [, , t]) => a + t, 0)).trim()}`);
