// Benchmark: the wall time of a full `faultline validate` (preflight and every drill, power-loss and
// fsync-error among them; the product's own command as a user runs it, default concurrency, seed 1)
// per backup tool, one after the other in one run, each on its sample configuration: streamed WAL
// (pg_receivewal, experiments/configs/safe, the baseline), pgBackRest (pgbackrest-safe), Barman
// (barman-sync) and archive_command over SSH (archive-rsync-ssh). Each prints its drills' statuses
// and its ratio to the streamed baseline, so a tool whose drills cost more stands out.
// Concurrency: two drills at a time against one at a time was measured before; two at a time is the
// default on a 2-core machine, so every run here uses the default.
// Target: each full validate under 2 minutes on a 2-core machine with the image cached.
// With CI=true: the baseline and Barman only, the slowest (integration tests run every tool's
// validate three times already); --all for every tool there too.
// Run: npm run bench:validate [-- --all]

import { postgresImage } from '../harness/engines/postgres/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { DRILL_NAMES } from '../harness/validate/index.ts';

const root = join(import.meta.dirname, '..');
const configs = 'experiments/configs';

interface Tool {
  name: string;
  args: string[];
}

const tools: Tool[] = [
  { name: 'streamed (pg_receivewal)', args: ['--postgres-conf', `${configs}/safe/postgresql.conf`] },
  {
    name: 'pgBackRest',
    args: ['--postgres-conf', `${configs}/pgbackrest-safe/postgresql.conf`, '--pgbackrest-conf', `${configs}/pgbackrest-safe/pgbackrest.conf`, '--rpo-budget', '60s'],
  },
  {
    name: 'Barman',
    args: ['--postgres-conf', `${configs}/barman-sync/postgresql.conf`, '--barman-conf', `${configs}/barman-sync/barman.conf`, '--barman-server', `${configs}/barman-sync/pg.conf`],
  },
  { name: 'archive_command over SSH', args: ['--postgres-conf', `${configs}/archive-rsync-ssh/postgresql.conf`, '--rpo-budget', '60s'] },
];

interface Timed {
  tool: string;
  ms: number;
  exitCode: number | undefined;
  verdict: string;
  drills: string;
}

// The image first, so no run pays for building it.
await postgresImage(undefined, { log: (line: string) => console.error(line) });

const s = (ms: number) => `${(ms / 1000).toFixed(1)}`;

async function timed(tool: Tool): Promise<Timed> {
  const out = mkdtempSync(join(tmpdir(), 'faultline-validate-bench-'));
  const started = performance.now();
  // The product's own command, as a user runs it (default concurrency).
  const run = await execa('node', [join(root, 'harness/cli.ts'), 'validate', ...tool.args, '--seed', '1', '--out', out, '--json'], { cwd: root, reject: false });
  const ms = performance.now() - started;
  rmSync(out, { recursive: true, force: true });
  let verdict = '-';
  let drills = '';
  try {
    const result = JSON.parse(run.stdout) as { verdict: string; drills: Array<{ name: string; status: string }> };
    verdict = result.verdict;
    drills = result.drills.map((d) => `${d.name}:${d.status}`).join(' ');
  } catch {
    // No validate.json on stdout (bad input or an environment error before the result): stderr says why.
  }
  // 129/130/143: the run got SIGHUP/SIGINT/SIGTERM from outside (this benchmark sends none) and cleaned up.
  const signal = ({ 129: 'SIGHUP', 130: 'SIGINT', 143: 'SIGTERM' } as Record<number, string>)[run.exitCode ?? -1];
  console.log(`${tool.name}: ${s(ms)} s, exit ${run.exitCode}${signal ? ` (${signal} from outside the benchmark)` : ''}, verdict ${verdict}`);
  if (drills) console.log(`  ${drills}`);
  if (run.exitCode === 2 || run.exitCode === 3 || !drills) {
    const tail = run.stderr.split('\n').filter((line) => line.trim() !== '').slice(-8);
    console.log(`  stderr (last ${tail.length} lines):`);
    for (const line of tail) console.log(`    ${line}`);
  }
  return { tool: tool.name, ms, exitCode: run.exitCode, verdict, drills: drills || '-' };
}

const { values } = parseArgs({ options: { all: { type: 'boolean', default: false } } });
const chosen = process.env.CI && !values.all ? tools.filter((t) => t.name === 'streamed (pg_receivewal)' || t.name === 'Barman') : tools;
console.log(`validate: faultline validate per backup tool (preflight + ${DRILL_NAMES.length} drills, seed 1, default concurrency)${chosen.length < tools.length ? `; with CI=true only ${chosen.map((t) => t.name).join(' and ')} (--all for every tool)` : ''}`);
const results: Timed[] = [];
for (const tool of chosen) results.push(await timed(tool));

const baseline = results[0]!;
const width = Math.max(...results.map((r) => r.tool.length));
console.log('');
console.log(`${'tool'.padEnd(width)}   wall (s)   ratio to streamed   verdict / exit   drills`);
for (const r of results) {
  const ratio = (r.ms / baseline.ms).toFixed(2);
  console.log(`${r.tool.padEnd(width)}   ${s(r.ms).padStart(8)}   ${ratio.padStart(17)}   ${`${r.verdict} / ${r.exitCode}`.padEnd(14)}   ${r.drills}`);
}
console.log(`target: each full validate under 120 s on a 2-core machine`);
