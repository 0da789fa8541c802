// Benchmark: how much the harness's realism costs at start-up, for each PostgreSQL version faultline
// tests (15, 17 and 18), side by side. In one run, alternating rounds of
//   (a) primary + streaming replica + WAL archive (the default topology), each on its own
//       loop-mounted volume in its own failure domain, until the replica and the archive stream
//       with zero lag, and
//   (b) one bare PostgreSQL container from the same image (no volumes, no replica) until it accepts
//       connections,
// in reverse order every other round (each start is timed right after the other's clean-up); each
// round does every version in turn, so a busy moment on the machine falls on all of them alike.
// Before the rounds, one cluster start (first network, start-up code) and one bare start per
// version (its image's files in the page cache) are not counted. Then, per version, the medians and
// their ratio a ÷ b, one column per version. Target: ratio at most 1.2 with the images cached.
// Rounds: 5, or 2 when CI=true (keeps the three versions within about 1.5× of what one version
// took with 5 rounds).
// Run: npm run bench:cluster-start [-- --rounds N]

import { parseArgs } from 'node:util';
import { GenericContainer, Wait } from 'testcontainers';
import { getEngine, newRunId, removeRunResources, runLabels } from '../harness/cluster/docker/index.ts';
import { defaultTopology, postgresImage, startPostgresCluster, TESTED_POSTGRES, type PostgresTopologySpec } from '../harness/engines/postgres/index.ts';
import { pinVersions } from '../harness/engines/registry.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: process.env.CI ? '2' : '5' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number of at least 1, got ${values.rounds}`);

function threeNodes(version: number): PostgresTopologySpec {
  return pinVersions(defaultTopology, { postgres: version }) as PostgresTopologySpec;
}

async function clusterReadyMs(image: string, version: number): Promise<number> {
  const started = performance.now();
  const cluster = await startPostgresCluster(threeNodes(version), { image });
  const ms = performance.now() - started;
  await cluster.stop();
  return ms;
}

async function bareReadyMs(image: string): Promise<number> {
  const runId = newRunId();
  const started = performance.now();
  try {
    await new GenericContainer(image)
      .withLabels(runLabels(runId))
      .withEntrypoint(['bash', '-c'])
      .withCommand([
        'su postgres -c "initdb -D /tmp/pgdata --data-checksums -A trust --no-sync >/dev/null && exec postgres -D /tmp/pgdata -c listen_addresses=\'*\'"',
      ])
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forAll([Wait.forLogMessage('database system is ready to accept connections'), Wait.forListeningPorts()]))
      .start();
    return performance.now() - started;
  } finally {
    await removeRunResources(await getEngine(), runId);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface Version {
  version: number;
  image: string;
  cluster: number[];
  bare: number[];
}

const benchStart = performance.now();
const versions: Version[] = [];
for (const version of TESTED_POSTGRES) {
  versions.push({ version, image: await postgresImage(version, { log: (line: string) => console.error(line) }), cluster: [], bare: [] });
}
// Warm-up, not counted: one cluster (first network, start-up code), then each image once.
await clusterReadyMs(versions[0]!.image, versions[0]!.version);
for (const v of versions.slice(1)) await bareReadyMs(v.image);

const secs = (ms: number) => (ms / 1000).toFixed(2);
for (let round = 1; round <= rounds; round++) {
  const line: string[] = [];
  for (const v of versions) {
    if (round % 2 === 1) {
      v.cluster.push(await clusterReadyMs(v.image, v.version));
      v.bare.push(await bareReadyMs(v.image));
    } else {
      v.bare.push(await bareReadyMs(v.image));
      v.cluster.push(await clusterReadyMs(v.image, v.version));
    }
    line.push(`PG ${v.version}: cluster ${secs(v.cluster.at(-1)!)} s, bare ${secs(v.bare.at(-1)!)} s`);
  }
  console.log(`round ${round}: ${line.join('; ')}`);
}

const label = 34;
const column = 16;
const row = (name: string, cells: string[]) => console.log(`  ${name.padEnd(label)}${cells.map((cell) => cell.padStart(column)).join('')}`);
console.log(`cluster-start (${rounds} round${rounds === 1 ? '' : 's'} per version, medians)`);
row('', versions.map((v) => `PostgreSQL ${v.version}`));
row('primary + replica + archive ready', versions.map((v) => `${secs(median(v.cluster))} s`));
row('bare PostgreSQL container ready', versions.map((v) => `${secs(median(v.bare))} s`));
row('ratio (target at most 1.2)', versions.map((v) => (median(v.cluster) / median(v.bare)).toFixed(2)));
for (const v of versions) console.log(`  PostgreSQL ${v.version}: image ${v.image}`);
console.log(`  whole benchmark: ${(((performance.now() - benchStart) / 1000)).toFixed(0)} s`);
