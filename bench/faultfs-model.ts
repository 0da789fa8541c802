// Benchmark: faultfs against its model of a disk, soaked. Runs many random programs (the same
// generator, model and comparison as test/integration/faultfs-model.test.ts: several processes, in
// lockstep and in concurrent phases, power losses between) in one node container with faultfs in
// lost-writes mode, and prints `faultfs-model: N operations checked in S s, M mismatches` (target 0)
// and the seed of each program that differed; `--seed S --runs 1` replays one, and `--shrink` then
// shrinks the first that differed to a smallest program that still does (to keep as a regression).
// Run: npm run bench:faultfs-model [-- --runs N --seed S --shrink] (2000 programs by default, 400
// when CI=true).

import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { checkProgram, script, startFaultfsNode, type FaultfsNode } from '../test/support/faultfs-check.ts';
import type { Step } from '../test/support/faultfs-model.ts';
import { compile, intentsArbitrary } from '../test/support/faultfs-program.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.CI ? '400' : '2000' },
    seed: { type: 'string', default: '1' },
    shrink: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
  console.error(`--runs must be a whole number of programs, 1 or more, and --seed a whole number: got '${values.runs}', '${values.seed}'`);
  process.exit(2);
}

const arbitrary = intentsArbitrary();
const intentsOf = (s: number) => fc.sample(arbitrary, { seed: s, numRuns: 1 })[0]!;
/** Program `s`: the same seed always makes the same program. */
const program = (s: number) => compile(intentsOf(s));

/** Shrinks program `s` with fast-check (it starts from that program) and prints the smallest that still differs. */
async function shrink(node: FaultfsNode, s: number): Promise<void> {
  let smallest: Step[] | undefined;
  const property = fc.asyncProperty(arbitrary, async (intents) => {
    const steps = compile(intents);
    if ((await checkProgram(node, steps)).mismatch) {
      smallest = steps;
      throw new Error('differs from the model');
    }
  });
  await fc.check(property, { examples: [[intentsOf(s)]], numRuns: 1 });
  if (!smallest) return console.log(`program ${s} no longer differs: nothing to shrink`);
  const verdict = await checkProgram(node, smallest);
  console.log(`program ${s}, shrunk:\n${script(smallest)}\n${verdict.mismatch ?? '(passed when run again: timing-dependent)'}\n`);
}

const keepAlive = setInterval(() => {}, 1 << 30);
const mismatches: number[] = [];
let operations = 0;
let programs = 0;
let seconds = 0;
let wedged = false;
try {
  await using node = await startFaultfsNode({ log: (line) => console.error(line) });
  const started = performance.now();
  for (let i = 0; i < runs; i++) {
    const s = seed + i;
    let verdict;
    try {
      verdict = await checkProgram(node, program(s));
    } catch (error) {
      // faultfs-exec gave up (an operation hung): faultfs may stay wedged, so stop here
      mismatches.push(s);
      wedged = true;
      console.log(`program ${s}: ${(error as Error).message}`);
      break;
    }
    programs++;
    operations += verdict.operations;
    if (verdict.mismatch) {
      mismatches.push(s);
      // the first ones in full; the seeds of all at the end
      if (mismatches.length <= 3) console.log(`program ${s}:\n${verdict.mismatch}\n`);
    }
  }
  seconds = (performance.now() - started) / 1000;
  if (values.shrink && mismatches.length > 0 && !wedged) await shrink(node, mismatches[0]!);
} finally {
  clearInterval(keepAlive);
}
console.log(`faultfs-model: ${operations} operations checked in ${seconds.toFixed(1)} s, ${mismatches.length} mismatches`);
const rate = seconds > 0 ? `${(operations / seconds).toFixed(0)} operations/s` : 'no time measured';
console.log(`  ${programs} programs (seeds from ${seed}), ${rate}; target: 0 mismatches${wedged ? '; stopped: faultfs stopped answering' : ''}`);
if (mismatches.length > 0) {
  console.log(`  mismatching seeds: ${mismatches.join(' ')} (replay one: npm run bench:faultfs-model -- --seed S --runs 1)`);
  process.exit(1);
}
