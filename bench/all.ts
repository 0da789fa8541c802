// Every benchmark, one after another, as `npm run bench` runs them: each prints its own figures;
// this adds how long each took, and a summary of those times at the end, so a slow benchmark shows.
// Stops at the first that fails, with its exit code. Run: npm run bench

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BENCHES: Array<[string, ...string[]]> = [
  ['commands.ts'],
  ['cluster-start.ts'],
  ['workload.ts'],
  ['drill.ts'],
  ['campaign.ts'],
  ['false-alarms.ts'],
  ['validate.ts'],
  ['faultfs.ts'],
  ['faultfs-model.ts'],
  ['interrupts.ts'],
  ['images.ts'],
  ['prove-backup.ts', '--runs', '2', '--rows', '1000000'],
  ['ha.ts'],
];

const took: string[] = [];
const started = performance.now();
for (const [file, ...args] of BENCHES) {
  const name = `bench/${file}${args.length ? ` ${args.join(' ')}` : ''}`;
  console.log(`\n=== ${name}`);
  const t0 = performance.now();
  const run = spawnSync(process.execPath, [join(import.meta.dirname, file), ...args], { stdio: 'inherit' });
  const seconds = ((performance.now() - t0) / 1000).toFixed(0);
  took.push(`  ${seconds.padStart(5)} s  ${name}`);
  console.log(`=== ${name}: ${run.status === 0 ? 'done' : `failed (${run.status ?? run.signal})`} in ${seconds} s`);
  if (run.status !== 0) {
    console.log(`\nbenchmark times until it failed:\n${took.join('\n')}`);
    process.exit(run.status ?? 1);
  }
}
console.log(`\nbenchmark times (${((performance.now() - started) / 60000).toFixed(1)} min in all):\n${took.join('\n')}`);
