// Benchmark: what the cluster's own HA manager (Redis Sentinel) costs and how fast it acts.
//   1. Cluster start, side by side in one run: a Redis primary and two replicas (a) with a Sentinel
//      beside each server, until the Sentinels have found each other and the replicas, and (b) the
//      same three servers without, until the replicas are in sync; alternating which goes first.
//      Medians and their ratio a ÷ b.
//   2. Failover, as the drill runs it: the primary's server dies and stays down, and Sentinel fails
//      over, with down-after-milliseconds 1000 and 2000 (faultline's default for short drills).
//      From manager-acted: how long after the crash Sentinel found the primary down and promoted a
//      replica, against the configured down-after-milliseconds (detection ÷ down-after), and the
//      whole drill's wall time, cluster start included (target: under a minute).
// Figures only: nothing is asserted; the exit code is 1 only when a run broke.
// Run: npm run bench:ha [-- --rounds N]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedisCluster, type RedisTopologySpec } from '../harness/engines/redis/index.ts';
import { runExperiment, type ExperimentDefinition } from '../harness/experiment/index.ts';
import { sentinelTopology } from '../experiments/sentinel.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: process.env.CI ? '2' : '4' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number of at least 1, got ${values.rounds}`);

const benchStart = performance.now();
const secs = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '-');
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const withManager = sentinelTopology();
const { ha: _manager, ...servers } = withManager.redis;
const without: RedisTopologySpec = { ...withManager, redis: servers };

async function startMs(spec: RedisTopologySpec): Promise<number> {
  const started = performance.now();
  const cluster = await startRedisCluster(spec);
  const ms = performance.now() - started;
  await cluster.stop();
  return ms;
}

await startMs(without); // warm-up, not counted: first network, image in the page cache
const timed = { manager: [] as number[], plain: [] as number[] };
for (let round = 1; round <= rounds; round++) {
  if (round % 2 === 1) {
    timed.manager.push(await startMs(withManager));
    timed.plain.push(await startMs(without));
  } else {
    timed.plain.push(await startMs(without));
    timed.manager.push(await startMs(withManager));
  }
  console.log(`round ${round}: with Sentinel ${secs(timed.manager.at(-1)!)} s, without ${secs(timed.plain.at(-1)!)} s`);
}

let broke = false;
const failovers: Array<{ downAfterMs: number; detectionMs: number; promotionMs: number; wallMs: number }> = [];
for (const downAfterMs of [1000, 2000]) {
  const definition: ExperimentDefinition = {
    name: `ha-bench-failover-${downAfterMs}`,
    description: `The primary's server dies and stays down; Sentinel (down-after-milliseconds ${downAfterMs}) fails over`,
    topology: sentinelTopology({ ha: { manager: 'sentinel', downAfterMs } }),
    workload: { clients: 4, duration: '7s', rate: 2000 },
    faults: [{ at: '1500ms', fault: 'process-crash', target: 'primary', params: { restart: 'no' } }],
  };
  const out = mkdtempSync(join(tmpdir(), 'faultline-bench-ha-'));
  const started = performance.now();
  try {
    const result = await runExperiment(definition, { seed: 1, outDir: out });
    const acted = result.checks.find((c) => c.name === 'manager-acted');
    const detectionMs = Number(acted?.details.detectionMs ?? NaN);
    const promotionMs = Number(acted?.details.promotionMs ?? NaN);
    if (result.verdict === 'broken' || !Number.isFinite(promotionMs)) {
      broke = true;
      console.log(`failover with down-after-milliseconds ${downAfterMs}: ${result.verdict}: ${acted?.summary ?? result.error ?? 'no manager-acted check'}`);
    }
    failovers.push({ downAfterMs, detectionMs, promotionMs, wallMs: performance.now() - started });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const row = (name: string, cells: string[]) => console.log(`  ${name.padEnd(44)}${cells.map((c) => c.padStart(14)).join('')}`);
console.log(`ha (Redis Sentinel; ${rounds} start round${rounds === 1 ? '' : 's'}, medians)`);
row('three servers + three Sentinels ready', [`${secs(median(timed.manager))} s`]);
row('three servers ready, no manager', [`${secs(median(timed.plain))} s`]);
row('ratio with ÷ without', [(median(timed.manager) / median(timed.plain)).toFixed(2)]);
row('failover, down-after-milliseconds', failovers.map((f) => `${f.downAfterMs} ms`));
row('  found the primary down after the crash', failovers.map((f) => `${secs(f.detectionMs)} s`));
row('  detection ÷ down-after-milliseconds', failovers.map((f) => (f.detectionMs / f.downAfterMs).toFixed(2)));
row('  promoted a replica after the crash', failovers.map((f) => `${secs(f.promotionMs)} s`));
row('  whole drill, cluster start included', failovers.map((f) => `${secs(f.wallMs)} s`));
console.log(`  whole benchmark: ${((performance.now() - benchStart) / 1000).toFixed(0)} s`);
if (broke) process.exitCode = 1;
