// Benchmark: how much the harness's realism costs at start-up. In one run, alternating rounds of
//   (a) primary + streaming replica + WAL archive (the default topology), each on its own
//       loop-mounted volume in its own failure domain, until the replica and the archive stream
//       with zero lag, and
//   (b) one bare PostgreSQL container from the same image (no volumes, no replica) until it accepts
//       connections,
// in reverse order every other round (each start is timed right after the other's clean-up), then
// the medians and their ratio a ÷ b. Target: ratio at most 1.2 with the image cached.
// Run: npm run bench:cluster-start [-- --rounds N]

import { postgresImage } from '../harness/engines/postgres/index.ts';
import { parseArgs } from 'node:util';
import { GenericContainer, Wait } from 'testcontainers';
import { getEngine, newRunId, removeRunResources, runLabels } from '../harness/cluster/docker/index.ts';
import { startPostgresCluster } from '../harness/engines/postgres/index.ts';
import { defaultTopology, type PostgresTopologySpec } from '../harness/engines/postgres/index.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);

const threeNodes: PostgresTopologySpec = defaultTopology;

async function clusterReadyMs(image: string): Promise<number> {
  const started = performance.now();
  const cluster = await startPostgresCluster(threeNodes, { image });
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
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const image = await postgresImage(15, { log: (line: string) => console.error(line) });
await clusterReadyMs(image); // warm-up: page cache, first network
const cluster: number[] = [];
const bare: number[] = [];
for (let round = 1; round <= rounds; round++) {
  if (round % 2 === 1) {
    cluster.push(await clusterReadyMs(image));
    bare.push(await bareReadyMs(image));
  } else {
    bare.push(await bareReadyMs(image));
    cluster.push(await clusterReadyMs(image));
  }
  console.log(`round ${round}: primary+replica+archive ${(cluster.at(-1)! / 1000).toFixed(2)} s, bare ${(bare.at(-1)! / 1000).toFixed(2)} s`);
}
const ratio = median(cluster) / median(bare);
console.log(`cluster-start (image ${image}, ${rounds} rounds, medians)`);
console.log(`  primary + replica + archive ready (streaming, zero lag): ${(median(cluster) / 1000).toFixed(2)} s`);
console.log(`  bare PostgreSQL container ready:                        ${(median(bare) / 1000).toFixed(2)} s`);
console.log(`  ratio: ${ratio.toFixed(2)} (target at most 1.2)`);
