// Benchmark: is the workload's recording a bottleneck? In one run, against the same primary and
// through the same network path (the container's mapped port), alternating rounds of
//   (a) faultline's workload: N clients, one INSERT per transaction (prepared once per connection),
//       every operation recorded in history.jsonl with a synchronous write, and
//   (b) pgbench with an equivalent single-row INSERT script and the same N clients (run in one
//       container on the host network, so it too goes through the mapped port), -M extended as
//       when the target was set (the statement parsed at every execution), and
//   (b') the same pgbench -M prepared: the protocol faultline's workload uses,
// then acknowledged writes per second for each (from the first acknowledgement to the last, as
// pgbench leaves out its connection time) and the ratios a ÷ b and a ÷ b', the medians of the
// rounds' own ratios (short rounds after one uncounted warm-up, each round's runs a second apart,
// in reverse order every other round), with their spread (the lowest and highest round).
// Target: a ÷ b at least 0.95. Also
//   (c) node-postgres alone, the same clients and prepared INSERT with nothing recorded, so the
//       ratios show what recording costs (a ÷ c) apart from what the driver costs (c ÷ b).
// Also the cost of one history append, measured alone.
// Then the same for Redis, against one redis-server (no persistence), alternating rounds of
//   (a) faultline's Redis workload: N clients, one SET or RPUSH per operation, recorded as above,
//       at the address the engine's nodes give (RedisNodeHandle.endpoint(): on a local Docker
//       engine the container's own address on its network, no docker-proxy in between), and
//   (b) redis-benchmark -t set with the same N clients, no pipelining (-P 1), a fixed number of
//       requests, from a host-network container to the same address (the same network path), and
//   (c) ioredis alone, the same clients and commands with nothing recorded, and
//   (d) (a) and (b) again through the container's mapped port (docker-proxy), the path before,
// with FLUSHALL before each; the ratio a ÷ b of acknowledged writes per second, the median of the
// rounds' own ratios and their spread, as for PostgreSQL. Target: at least 0.85.
// Run: npm run bench:workload [-- --clients N --seconds S --rounds R --redis-requests M --redis-seconds S --redis-rounds R]

import { postgresImage } from '../harness/engines/postgres/index.ts';
import { redisImage } from '../harness/engines/redis/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GenericContainer, Wait } from 'testcontainers';
import { Redis } from 'ioredis';
import pg from 'pg';
import { newRunId, removeRunResources, getEngine, runLabels } from '../harness/cluster/docker/index.ts';
import { startPostgresCluster } from '../harness/engines/postgres/index.ts';
import { HistoryWriter, readHistory } from '../harness/history/index.ts';
import { LEDGER_DDL, PostgresWorkload } from '../harness/engines/postgres/client.ts';
import { RedisWorkload } from '../harness/engines/redis/client.ts';
import { containerEndpoint } from '../harness/engines/redis/redis-node.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '15' },
    'redis-requests': { type: 'string', default: '40000' },
    'redis-seconds': { type: 'string', default: '1.5' },
    'redis-rounds': { type: 'string', default: '15' },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const redisRequests = Number(values['redis-requests']);
const redisSeconds = Number(values['redis-seconds']);
const redisRounds = Number(values['redis-rounds']);
const scratch = mkdtempSync(join(tmpdir(), 'faultline-bench-'));
// Testcontainers' one-shot wait polls with timers that do not hold the event loop open.
const keepAlive = setInterval(() => {}, 1000);

const image = await postgresImage(undefined, { log: (line: string) => console.error(line) });
const redisNodeImage = await redisImage('redis', undefined, { log: (line: string) => console.error(line) });
await using cluster = await startPostgresCluster(
  { domains: ['san-a'], postgres: { nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }] } },
  { image },
);
const primary = cluster.primary();
await primary.psql(LEDGER_DDL);
await primary.psql('CREATE TABLE pgbench_ledger (key bigint PRIMARY KEY, value text NOT NULL); CREATE SEQUENCE pgbench_keys');

async function faultlineRate(round: number): Promise<number> {
  await primary.psql('TRUNCATE faultline_ledger'); // each workload numbers its keys from 1
  const history = new HistoryWriter(join(scratch, `history-${round}.jsonl`));
  const workload = new PostgresWorkload(history, () => ({ node: primary.name, config: primary.clientConfig() }), { clients });
  workload.start();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const stats = await workload.stop();
  history.close();
  if (stats.fail + stats.info > 0) throw new Error(`faultline round ${round}: ${stats.fail} failed and ${stats.info} indeterminate writes on a healthy primary`);
  // From the first acknowledgement to the last, as pgbench leaves out its connection time.
  const acks = readHistory(history.path).events.filter((e) => e.type === 'ok').map((e) => e.time);
  return ackRate(acks);
}

/** Acknowledgements per second between the first and the last of them. */
function ackRate(times: number[]): number {
  if (times.length < 2) throw new Error(`only ${times.length} write(s) acknowledged in a round`);
  return (times.length - 1) / ((times.at(-1)! - times[0]!) / 1000);
}

/** node-postgres alone: the same clients and INSERT, nothing recorded (what the driver costs, apart from faultline). */
async function driverRate(): Promise<number> {
  await primary.psql('TRUNCATE faultline_ledger');
  let stop = false;
  let next = 0;
  const acks: number[] = [];
  const loops = Array.from({ length: clients }, async (_, i) => {
    const client = new pg.Client(primary.clientConfig());
    await client.connect();
    while (!stop) {
      const key = ++next;
      await client.query({ name: 'insert', text: 'INSERT INTO faultline_ledger (key, value) VALUES ($1, $2)', values: [key, `v${key}.p${i}`] });
      acks.push(performance.now());
    }
    await client.end();
  });
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  stop = true;
  await Promise.all(loops);
  return ackRate(acks);
}

// pgbench runs in one container on the host network, started once: a container started and removed
// every round would load the machine around the round after it.
const pgbenchRunId = newRunId();
const pgbenchContainer = await new GenericContainer(image)
  .withLabels(runLabels(pgbenchRunId))
  .withNetworkMode('host')
  .withEntrypoint(['sleep', 'infinity'])
  .start();
await using _pgbenchCleanup = { [Symbol.asyncDispose]: async () => removeRunResources(await getEngine(), pgbenchRunId) };

async function pgbenchRate(mode: 'extended' | 'prepared'): Promise<number> {
  const { host, port } = primary.endpoint();
  const { password } = primary.clientConfig();
  const script = "INSERT INTO pgbench_ledger (key, value) VALUES (nextval('pgbench_keys'), 'v' || :client_id);";
  const result = await pgbenchContainer.exec(
    [
      'bash',
      '-c',
      `echo "${script}" > /tmp/insert.sql && pgbench -h ${host === 'localhost' ? '127.0.0.1' : host} -p ${port} -U postgres -n -M ${mode} ` +
        `-c ${clients} -j ${Math.min(clients, 2)} -T ${seconds} -f /tmp/insert.sql postgres`,
    ],
    { env: { PGPASSWORD: String(password) } },
  );
  const output = `${result.stdout}${result.stderr}`;
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1];
  if (result.exitCode !== 0 || !tps) throw new Error(`pgbench exited ${result.exitCode} and printed no tps:\n${output}`);
  return Number(tps);
}

// The cost of recording alone: appends of a typical operation event to a file.
const probe = new HistoryWriter(join(scratch, 'append-probe.jsonl'));
const appends = 50_000;
const t0 = performance.now();
for (let i = 0; i < appends; i++) probe.append({ type: 'ok', process: i % 4, f: 'write', key: i, value: `v${i}.p${i % 4}`, node: 'pg-primary' });
const appendUs = ((performance.now() - t0) * 1000) / appends;
probe.close();

const faultline: number[] = [];
const pgbench: number[] = [];
const pgbenchPrepared: number[] = [];
const driver: number[] = [];
// The commit rate of one primary on a shared disk drifts by 20 % and more within a minute, so the
// four run side by side in short rounds, in reverse order every other round, and each ratio is the
// median of the rounds' own ratios (each round's runs are seconds apart).
const runners = {
  faultline: async (round: number) => faultline.push(await faultlineRate(round)),
  pgbench: async () => pgbench.push(await pgbenchRate('extended')),
  'pgbench-prepared': async () => pgbenchPrepared.push(await pgbenchRate('prepared')),
  driver: async () => driver.push(await driverRate()),
};
// A round to warm up (the JIT, the server's caches), not counted.
for (const run of Object.values(runners)) await run(0);
for (const list of [faultline, pgbench, pgbenchPrepared, driver]) list.length = 0;
for (let round = 1; round <= rounds; round++) {
  const order = Object.keys(runners) as Array<keyof typeof runners>;
  for (const which of round % 2 === 1 ? order : order.reverse()) await runners[which](round);
  console.log(
    `round ${round}: faultline ${faultline.at(-1)!.toFixed(0)} writes/s, pgbench ${pgbench.at(-1)!.toFixed(0)} (prepared ${pgbenchPrepared.at(-1)!.toFixed(0)}) writes/s, ` +
      `node-postgres alone ${driver.at(-1)!.toFixed(0)} writes/s; faultline / pgbench ${(faultline.at(-1)! / pgbench.at(-1)!).toFixed(2)}`,
  );
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const ratios = (a: number[], b: number[]) => a.map((x, i) => x / b[i]!);
const spread = (xs: number[]) => `rounds ${Math.min(...xs).toFixed(2)} to ${Math.max(...xs).toFixed(2)}`;
const vsPgbench = ratios(faultline, pgbench);
console.log(`workload (${clients} clients, ${seconds} s x ${rounds} rounds each, same primary, through the mapped port)`);
console.log(`  faultline workload (recording every operation): ${mean(faultline).toFixed(0)} acknowledged writes/s`);
console.log(`  pgbench, equivalent single-row INSERT:          ${mean(pgbench).toFixed(0)} writes/s (-M extended: parsed at every execution)`);
console.log(`  pgbench -M prepared (parsed once per connection, as faultline's workload does): ${mean(pgbenchPrepared).toFixed(0)} writes/s`);
console.log(`  node-postgres alone (same clients and INSERT, nothing recorded): ${mean(driver).toFixed(0)} writes/s`);
console.log(`  ratio faultline / pgbench: ${median(vsPgbench).toFixed(2)} (median of rounds; ${spread(vsPgbench)}; target at least 0.95)`);
const vsPrepared = ratios(faultline, pgbenchPrepared);
console.log(`  ratio faultline / pgbench -M prepared: ${median(vsPrepared).toFixed(2)} (median of rounds; ${spread(vsPrepared)}; the same protocol on both sides)`);
console.log(
  `  ratio node-postgres alone / pgbench: ${median(ratios(driver, pgbench)).toFixed(2)}; ` +
    `faultline / node-postgres alone: ${median(ratios(faultline, driver)).toFixed(2)} (what recording costs; ${spread(ratios(faultline, driver))})`,
);
console.log(`  one history append (synchronous write): ${appendUs.toFixed(1)} µs; one write per operation (a completion goes out with the next invoke)`);

// Redis: one server, redis-server run directly in the node image, nothing persisted.
const redisRunId = newRunId();
try {
  const container = await new GenericContainer(redisNodeImage)
    .withLabels(runLabels(redisRunId))
    .withEntrypoint(['redis-server'])
    .withCommand(['--port', '6379', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  // Where a Redis node of a cluster is reached (RedisNodeHandle.endpoint()), for every client here.
  const target = { node: 'redis-1', ...containerEndpoint(container, 6379) };
  const path = target.port === 6379 ? `the container's address ${target.host}` : `the mapped port ${target.host}:${target.port}`;
  const admin = new Redis({ host: target.host, port: target.port, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  admin.on('error', () => {});
  // redis-benchmark runs in one host-network container, started once (as pgbench above).
  const benchContainer = await new GenericContainer(redisNodeImage)
    .withLabels(runLabels(redisRunId))
    .withNetworkMode('host')
    .withEntrypoint(['sleep', 'infinity'])
    .start();

  const mapped = { node: target.node, host: container.getHost() === 'localhost' ? '127.0.0.1' : container.getHost(), port: container.getMappedPort(6379) };

  const redisFaultlineRate = async (round: number, to = target): Promise<number> => {
    await admin.flushall();
    const history = new HistoryWriter(join(scratch, `redis-history-${round}.jsonl`));
    const workload = new RedisWorkload(history, () => to, { clients });
    workload.start();
    await new Promise((resolve) => setTimeout(resolve, redisSeconds * 1000));
    const stats = await workload.stop();
    history.close();
    rmSync(history.path);
    if (stats.fail + stats.info > 0) throw new Error(`faultline Redis round ${round}: ${stats.fail} failed and ${stats.info} indeterminate writes on a healthy server`);
    // Over the whole run (connecting takes a few ms of it): reading back tens of thousands of events
    // to time them from the first acknowledgement leaves garbage that slows the next run measurably.
    return stats.ok / (stats.durationMs / 1000);
  };

  const redisBenchmarkRate = async (to = target): Promise<number> => {
    await admin.flushall();
    const host = to.host === 'localhost' ? '127.0.0.1' : to.host;
    const result = await benchContainer.exec(['redis-benchmark', '-h', host, '-p', String(to.port), '-c', String(clients), '-n', String(redisRequests), '-t', 'set', '-r', '100000000', '-P', '1', '-q', '--csv']);
    const output = `${result.stdout}${result.stderr}`;
    // --csv prints a header line, then "SET","<requests per second>","<avg latency ms>",…
    const rps = /^"SET","([\d.]+)"/m.exec(output)?.[1];
    if (result.exitCode !== 0 || !rps) throw new Error(`redis-benchmark exited ${result.exitCode} and printed no SET rate:\n${output}`);
    return Number(rps);
  };

  // The driver alone: the same clients and commands through ioredis with nothing recorded, to tell
  // the driver's share of the gap from the recording's.
  const ioredisAloneRate = async (): Promise<number> => {
    await admin.flushall();
    const drivers = Array.from({ length: clients }, () => new Redis({ host: target.host, port: target.port, retryStrategy: () => null, maxRetriesPerRequest: 0 }));
    try {
      await Promise.all(drivers.map((d) => d.ping()));
      let done = 0;
      const started = performance.now();
      const end = started + redisSeconds * 1000;
      await Promise.all(drivers.map(async (d, i) => {
        for (let key = i; performance.now() < end; key += clients) {
          await (key % 2 === 0 ? d.set(`fl:k:${key}`, `v${key}`) : d.rpush('fl:log', `${key}:v${key}`));
          done++;
        }
      }));
      return done / ((performance.now() - started) / 1000);
    } finally {
      for (const d of drivers) d.disconnect();
    }
  };

  const redisFaultline: number[] = [];
  const redisBenchmark: number[] = [];
  const ioredisAlone: number[] = [];
  const mappedFaultline: number[] = [];
  const mappedBenchmark: number[] = [];
  // Side by side in short rounds, in reverse order every other round, after one uncounted warm-up.
  const redisRunners = {
    faultline: async (round: number) => redisFaultline.push(await redisFaultlineRate(round)),
    'redis-benchmark': async () => redisBenchmark.push(await redisBenchmarkRate()),
    ioredis: async () => ioredisAlone.push(await ioredisAloneRate()),
    'faultline, mapped port': async (round: number) => (target.port === mapped.port ? undefined : mappedFaultline.push(await redisFaultlineRate(round, mapped))),
    'redis-benchmark, mapped port': async () => (target.port === mapped.port ? undefined : mappedBenchmark.push(await redisBenchmarkRate(mapped))),
  };
  try {
    for (const run of Object.values(redisRunners)) await run(0);
    for (const list of [redisFaultline, redisBenchmark, ioredisAlone, mappedFaultline, mappedBenchmark]) list.length = 0;
    for (let round = 1; round <= redisRounds; round++) {
      const order = Object.keys(redisRunners) as Array<keyof typeof redisRunners>;
      for (const which of round % 2 === 1 ? order : order.reverse()) await redisRunners[which](round);
      console.log(
        `redis round ${round}: faultline ${redisFaultline.at(-1)!.toFixed(0)} writes/s, redis-benchmark ${redisBenchmark.at(-1)!.toFixed(0)} SET/s, ` +
          `ioredis alone ${ioredisAlone.at(-1)!.toFixed(0)} writes/s; faultline / redis-benchmark ${(redisFaultline.at(-1)! / redisBenchmark.at(-1)!).toFixed(2)}` +
          (mappedFaultline.length ? `; mapped port: faultline ${mappedFaultline.at(-1)!.toFixed(0)}, redis-benchmark ${mappedBenchmark.at(-1)!.toFixed(0)}` : ''),
      );
    }
  } finally {
    admin.disconnect();
  }
  const vsBenchmark = ratios(redisFaultline, redisBenchmark);
  const aloneVsBenchmark = ratios(ioredisAlone, redisBenchmark);
  console.log(`redis workload (${clients} clients; faultline and ioredis ${redisSeconds} s, redis-benchmark ${redisRequests} SETs; x ${redisRounds} rounds each, same server, through ${path})`);
  console.log(`  faultline workload (SET or RPUSH, recording every operation): ${mean(redisFaultline).toFixed(0)} acknowledged writes/s`);
  console.log(`  redis-benchmark -t set -P 1, same clients, same address:     ${mean(redisBenchmark).toFixed(0)} SET/s`);
  console.log(`  ioredis alone (same clients and commands, nothing recorded): ${mean(ioredisAlone).toFixed(0)} writes/s`);
  console.log(`  ratio faultline / redis-benchmark: ${median(vsBenchmark).toFixed(2)} (median of rounds; ${spread(vsBenchmark)}; target at least 0.85)`);
  console.log(
    `  ratio ioredis alone / redis-benchmark: ${median(aloneVsBenchmark).toFixed(2)} (${spread(aloneVsBenchmark)}); ` +
      `faultline / ioredis alone: ${median(ratios(redisFaultline, ioredisAlone)).toFixed(2)} (what recording costs; ${spread(ratios(redisFaultline, ioredisAlone))})`,
  );
  if (mappedFaultline.length) {
    const before = ratios(mappedFaultline, mappedBenchmark);
    console.log(
      `  through the mapped port (docker-proxy) instead: faultline ${mean(mappedFaultline).toFixed(0)} writes/s, redis-benchmark ${mean(mappedBenchmark).toFixed(0)} SET/s, ` +
        `ratio ${median(before).toFixed(2)} (${spread(before)}); faultline direct / mapped: ${median(ratios(redisFaultline, mappedFaultline)).toFixed(2)} (${spread(ratios(redisFaultline, mappedFaultline))})`,
    );
  }
} finally {
  await removeRunResources(await getEngine(), redisRunId);
  rmSync(scratch, { recursive: true, force: true });
  clearInterval(keepAlive);
}
