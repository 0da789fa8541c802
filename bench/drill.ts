// Benchmark: the wall time of `faultline run sidekick` (both experiments, run side by side as the
// command runs them: the same campaign code, as many at once as the machine holds) on each
// PostgreSQL version faultline tests (15, 17 and 18, one version after the other, the drills'
// topology pinned to it as `faultline run sidekick --postgres N` does), split into phases so the
// slowest one is visible: image, cluster start, workload (with its faults and recovery inside),
// restore rehearsal, final read, clean-up and checks; and, inside the workload, the time spent in
// faults and recovery. One table: a column per experiment per version, and per version the pair's
// wall time.
// Target: the pair in under 20 s on a 2-core machine with the image cached, on every version.
// Run: npm run bench:drill

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultParallel, runCampaign } from '../harness/campaign/index.ts';
import { postgresImage, TESTED_POSTGRES } from '../harness/engines/postgres/index.ts';
import { pinVersions } from '../harness/engines/registry.ts';
import type { ExperimentDefinition } from '../harness/experiment/index.ts';
import { readHistory, type HistoryEvent } from '../harness/history/index.ts';
import sidekickNaive from '../experiments/sidekick-naive.ts';
import sidekickHardened from '../experiments/sidekick-hardened.ts';

function phaseTimes(events: HistoryEvent[], totalMs: number): Record<string, number> {
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

interface Experiment {
  name: string;
  phases: Record<string, number>;
  totalMs: number;
}

interface Version {
  version: number;
  image: string;
  imageMs: number;
  pairMs: number;
  experiments: Experiment[];
}

const definitions: ExperimentDefinition[] = [sidekickNaive, sidekickHardened];
const out = mkdtempSync(join(tmpdir(), 'faultline-drill-bench-'));
const { parallel, why } = defaultParallel();
const started = performance.now();
const versions: Version[] = [];
try {
  for (const version of TESTED_POSTGRES) {
    const imageStart = performance.now();
    const image = await postgresImage(version, { log: (line: string) => console.error(line) });
    const imageMs = performance.now() - imageStart;
    const pinned = definitions.map((definition) => ({ ...definition, topology: pinVersions(definition.topology, { postgres: version }) as ExperimentDefinition['topology'] }));
    const pairStart = performance.now();
    const outcomes = await runCampaign(
      pinned.map((definition) => ({ definition, source: definition.name, seed: 1 })),
      { parallel, outDir: join(out, `postgres-${version}`), log: () => {} },
    );
    const pairMs = performance.now() - pairStart;
    const experiments = outcomes.map(({ result }) => {
      const { events } = readHistory(join(result.dir, 'history.jsonl'));
      return { name: result.experiment, phases: phaseTimes(events, result.timings.totalMs), totalMs: result.timings.totalMs };
    });
    versions.push({ version, image, imageMs, pairMs, experiments });
    console.error(`drill: PostgreSQL ${version} done, pair ${(pairMs / 1000).toFixed(1)} s`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
const totalMs = performance.now() - started;

// The experiments' names without what they share ('sidekick-'), to keep the columns narrow.
function sharedPrefix(names: string[]): string {
  let prefix = names[0] ?? '';
  for (const name of names) while (!name.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix.slice(0, prefix.lastIndexOf('-') + 1);
}
const shared = definitions.length > 1 ? sharedPrefix(definitions.map((d) => d.name)) : '';
const short = (name: string) => name.slice(shared.length);

const LABEL = 22;
const CELL = 11;
const GAP = 3;
const group = CELL * definitions.length;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const line = (label: string, groups: string[]) => console.log(`  ${label.padEnd(LABEL)}${groups.map((g) => ' '.repeat(GAP) + g).join('')}`);
const cells = (values: string[]) => values.map((v) => v.padStart(CELL)).join('');
const spanned = (value: string) => value.padStart(group);

console.log(`drill: faultline run sidekick on each PostgreSQL version, phase by phase`);
line('', versions.map((v) => spanned(`PostgreSQL ${v.version}`)));
line('phase', versions.map((v) => cells(v.experiments.map((e) => short(e.name)))));
line('image (shared)', versions.map((v) => spanned(s(v.imageMs))));
for (const phase of Object.keys(versions[0]!.experiments[0]!.phases)) line(phase, versions.map((v) => cells(v.experiments.map((e) => s(e.phases[phase]!)))));
line('experiment total', versions.map((v) => cells(v.experiments.map((e) => s(e.totalMs)))));
line('wall time of the pair', versions.map((v) => spanned(s(v.pairMs))));
line('  the two added up', versions.map((v) => spanned(s(v.experiments.reduce((a, e) => a + e.totalMs, 0)))));
console.log(`  target: the pair under 20 s on every version; it runs ${Math.min(parallel, definitions.length)} at a time`);
console.log(`    (${why})`);
console.log(`  whole benchmark, with the image checks: ${s(totalMs)}`);
for (const v of versions) console.log(`  PostgreSQL ${v.version}: image ${v.image}`);
