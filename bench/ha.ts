// Benchmark: what the cluster's own HA manager (Redis Sentinel, Patroni) costs and how fast it acts.
//   1. Cluster start, side by side in one run: a Redis primary and two replicas (a) with a Sentinel
//      beside each server, until the Sentinels have found each other and the replicas, and (b) the
//      same three servers without, until the replicas are in sync; alternating which goes first.
//      Medians and their ratio a ÷ b. The same for PostgreSQL: three servers under Patroni (etcd
//      beside each, HAProxy in front), until HAProxy routes to the leader and the replicas stream,
//      against the same three servers started by faultline.
//   2. Failover, as the drill runs it: the primary's server dies and stays down, and Sentinel fails
//      over, with down-after-milliseconds 1000 and 2000 (faultline's default for short drills).
//      From manager-acted: how long after the crash Sentinel found the primary down and promoted a
//      replica, against the configured down-after-milliseconds (detection ÷ down-after), and the
//      whole drill's wall time, cluster start included (target: under a minute). For Patroni: the
//      primary's failure domain is lost (ttl 20, faultline's default), detection against the ttl.
// Figures only: nothing is asserted; the exit code is 1 only when a run broke.
// Run: npm run bench:ha [-- --rounds N]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedisCluster, type RedisTopologySpec } from '../harness/engines/redis/index.ts';
import { patroniTopology, startPostgresCluster, type PostgresTopologySpec } from '../harness/engines/postgres/index.ts';
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

/** Start-up times, with the manager and without, side by side: alternating which goes first, after one warm-up. */
async function startTimes(name: string, start: { manager: () => Promise<{ stop(): Promise<void> }>; plain: () => Promise<{ stop(): Promise<void> }> }) {
  const ms = async (begin: () => Promise<{ stop(): Promise<void> }>) => {
    const started = performance.now();
    const cluster = await begin();
    const took = performance.now() - started;
    await cluster.stop();
    return took;
  };
  await ms(start.plain); // warm-up, not counted: first network, image in the page cache
  const timed = { manager: [] as number[], plain: [] as number[] };
  for (let round = 1; round <= rounds; round++) {
    for (const which of round % 2 === 1 ? (['manager', 'plain'] as const) : (['plain', 'manager'] as const)) timed[which].push(await ms(start[which]));
    console.log(`round ${round}: with ${name} ${secs(timed.manager.at(-1)!)} s, without ${secs(timed.plain.at(-1)!)} s`);
  }
  return { manager: median(timed.manager), plain: median(timed.plain) };
}

const withSentinel = sentinelTopology();
const { ha: _sentinel, ...redisServers } = withSentinel.redis;
const sentinelStart = await startTimes('Sentinel', { manager: () => startRedisCluster(withSentinel), plain: () => startRedisCluster({ ...withSentinel, redis: redisServers }) });
const withPatroni = patroniTopology();
const { ha: _patroni, ...postgresServers } = withPatroni.postgres;
const plainPostgres: PostgresTopologySpec = { ...withPatroni, postgres: postgresServers };
const patroniStart = await startTimes('Patroni', { manager: () => startPostgresCluster(withPatroni), plain: () => startPostgresCluster(plainPostgres) });

let broke = false;
/** One failover drill; its manager-acted figures and wall time. */
async function failover(definition: ExperimentDefinition): Promise<{ detectionMs: number; promotionMs: number; wallMs: number }> {
  const out = mkdtempSync(join(tmpdir(), 'faultline-bench-ha-'));
  const started = performance.now();
  try {
    const result = await runExperiment(definition, { seed: 1, outDir: out });
    const acted = result.checks.find((c) => c.name === 'manager-acted');
    const figures = { detectionMs: Number(acted?.details.detectionMs ?? NaN), promotionMs: Number(acted?.details.promotionMs ?? NaN), wallMs: performance.now() - started };
    if (result.verdict === 'broken' || !Number.isFinite(figures.promotionMs)) {
      broke = true;
      console.log(`${definition.name}: ${result.verdict}: ${acted?.summary ?? result.error ?? 'no manager-acted check'}`);
    }
    return figures;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const failovers: Array<{ downAfterMs: number; detectionMs: number; promotionMs: number; wallMs: number }> = [];
for (const downAfterMs of [1000, 2000]) {
  const figures = await failover({
    name: `ha-bench-failover-${downAfterMs}`,
    description: `The primary's server dies and stays down; Sentinel (down-after-milliseconds ${downAfterMs}) fails over`,
    topology: sentinelTopology({ ha: { manager: 'sentinel', downAfterMs } }),
    workload: { clients: 4, duration: '7s', rate: 2000 },
    faults: [{ at: '1500ms', fault: 'process-crash', target: 'primary', params: { restart: 'no' } }],
  });
  failovers.push({ downAfterMs, ...figures });
}

const patroni = await failover({
  name: 'ha-bench-patroni-failover',
  description: "The primary's failure domain is lost; Patroni (ttl 20) fails over",
  topology: patroniTopology(),
  workload: { clients: 4, duration: '30s', rate: 500 },
  faults: [{ at: '3s', fault: 'domain-loss', target: 'domain:san-a' }],
});

const row = (name: string, cells: string[]) => console.log(`  ${name.padEnd(44)}${cells.map((c) => c.padStart(14)).join('')}`);
console.log(`ha (${rounds} start round${rounds === 1 ? '' : 's'} each, medians)`);
row('three Redis servers + three Sentinels ready', [`${secs(sentinelStart.manager)} s`]);
row('three Redis servers ready, no manager', [`${secs(sentinelStart.plain)} s`]);
row('ratio with ÷ without', [(sentinelStart.manager / sentinelStart.plain).toFixed(2)]);
row('three PostgreSQL servers under Patroni ready', [`${secs(patroniStart.manager)} s`]);
row('  (etcd beside each, HAProxy routing)', []);
row('three PostgreSQL servers ready, no manager', [`${secs(patroniStart.plain)} s`]);
row('ratio with ÷ without', [(patroniStart.manager / patroniStart.plain).toFixed(2)]);
row('Sentinel failover, down-after-milliseconds', failovers.map((f) => `${f.downAfterMs} ms`));
row('  found the primary down after the crash', failovers.map((f) => `${secs(f.detectionMs)} s`));
row('  detection ÷ down-after-milliseconds', failovers.map((f) => (f.detectionMs / f.downAfterMs).toFixed(2)));
row('  promoted a replica after the crash', failovers.map((f) => `${secs(f.promotionMs)} s`));
row('  whole drill, cluster start included', failovers.map((f) => `${secs(f.wallMs)} s`));
row('Patroni failover after the SAN is lost, ttl', ['20 s']);
row('  leader key gone after the loss', [`${secs(patroni.detectionMs)} s`]);
row('  detection ÷ ttl', [(patroni.detectionMs / 20_000).toFixed(2)]);
row('  promoted a replica after the loss', [`${secs(patroni.promotionMs)} s`]);
row('  whole drill, cluster start included', [`${secs(patroni.wallMs)} s`]);
console.log(`  whole benchmark: ${((performance.now() - benchStart) / 1000).toFixed(0)} s`);
if (broke) process.exitCode = 1;
