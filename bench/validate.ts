// Benchmark: the wall time of `faultline validate` on the safe sample configuration (preflight and
// every drill, power-loss and fsync-error among them), with drills two at a time (the default on a
// 2-core machine) and one at a time, side by side in one run: the ratio says what running them
// concurrently buys.
// Target: under 3 minutes on a 2-core machine with the image cached.
// Run: npm run bench:validate

import { postgresImage } from '../harness/engines/postgres/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { DRILL_NAMES } from '../harness/validate/index.ts';

const conf = join(import.meta.dirname, '../experiments/configs/safe/postgresql.conf');
await postgresImage(undefined, { log: (line: string) => console.error(line) });

async function timed(concurrency: number): Promise<{ ms: number; exitCode: number | undefined; drills: string }> {
  const out = mkdtempSync(join(tmpdir(), 'faultline-validate-bench-'));
  const started = performance.now();
  // The product's own command, as a user runs it.
  const run = await execa('node', [join(import.meta.dirname, '../harness/cli.ts'), 'validate', '--postgres-conf', conf, '--seed', '1', '--concurrency', String(concurrency), '--out', out, '--json'], { reject: false });
  const ms = performance.now() - started;
  rmSync(out, { recursive: true, force: true });
  const drills = run.exitCode === 0 || run.exitCode === 1 ? (JSON.parse(run.stdout) as { drills: Array<{ name: string; status: string }> }).drills.map((d) => `${d.name}:${d.status}`).join(' ') : run.stderr.split('\n').at(-2) ?? '';
  return { ms, exitCode: run.exitCode, drills };
}

const two = await timed(2);
const one = await timed(1);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
console.log(`validate: faultline validate on experiments/configs/safe (preflight + ${DRILL_NAMES.length} drills, seed 1)`);
console.log(`  2 drills at a time   ${s(two.ms).padStart(8)}   exit ${two.exitCode}   ${two.drills}`);
console.log(`  1 drill at a time    ${s(one.ms).padStart(8)}   exit ${one.exitCode}   ${one.drills}`);
console.log(`  ratio (2 at a time / 1 at a time): ${(two.ms / one.ms).toFixed(2)}   target: 2 at a time under 180 s`);
