// Benchmark: what one command in a node costs, through the node's command agent (how the harness
// runs every command in a node) and through a docker exec (how it ran them before), side by side in
// one container of the node image: a bare `true` and a `psql` query against a running server, in
// alternating rounds. Prints the medians per command and the ratio agent ÷ docker exec.
// Run: npm run bench:commands [-- --rounds N]

import { postgresImage } from '../harness/engines/postgres/index.ts';
import { parseArgs } from 'node:util';
import { GenericContainer } from 'testcontainers';
import { getEngine, newRunId, removeRunResources, runLabels } from '../harness/cluster/docker/index.ts';
import { runInContainer } from '../harness/cluster/docker/agent.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, commands: { type: 'string', default: '20' } } });
const rounds = Number(values.rounds);
const perRound = Number(values.commands);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const image = await postgresImage(undefined, { log: (line: string) => console.error(line) });
const runId = newRunId();
try {
  const node = await new GenericContainer(image)
    .withLabels(runLabels(runId))
    .withEntrypoint(['bash', '-c'])
    .withCommand(['su postgres -c "initdb -D /tmp/pgdata -A trust --no-sync >/dev/null && pg_ctl -D /tmp/pgdata -l /tmp/pg.log -w start >/dev/null" && exec sleep infinity'])
    .start();
  const psql = ['psql', '-X', '-q', '-A', '-t', '-h', '/var/run/postgresql', '-d', 'postgres', '-c', 'SELECT 1'];
  const ready = async () => {
    for (let i = 0; i < 200; i++) if ((await runInContainer(node, psql, { user: 'postgres' })).exitCode === 0) return;
    throw new Error('the server in the benchmark container did not start');
  };
  await ready();
  const ways = {
    agent: (command: string[]) => runInContainer(node, command, { user: 'postgres' }),
    'docker exec': (command: string[]) => node.exec(command, { user: 'postgres' }),
  };
  const timings: Record<string, Record<string, number[]>> = { true: { agent: [], 'docker exec': [] }, psql: { agent: [], 'docker exec': [] } };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['agent', 'docker exec'] as const) : (['docker exec', 'agent'] as const);
    for (const way of order) {
      for (const [name, command] of [['true', ['true']], ['psql', psql]] as const) {
        for (let i = 0; i < perRound; i++) {
          const started = performance.now();
          const result = await ways[way]([...command]);
          if (result.exitCode !== 0) throw new Error(`${name} through ${way} exited ${result.exitCode}: ${result.stderr}`);
          timings[name]![way]!.push(performance.now() - started);
        }
      }
    }
  }
  console.log(`commands: one command in a node container, ${rounds} rounds × ${perRound} per way, alternating (image ${image})`);
  for (const [name, byWay] of Object.entries(timings)) {
    const agent = median(byWay.agent!);
    const exec = median(byWay['docker exec']!);
    console.log(`  ${name.padEnd(6)} agent ${agent.toFixed(1).padStart(6)} ms   docker exec ${exec.toFixed(1).padStart(6)} ms   ratio agent ÷ docker exec ${(agent / exec).toFixed(2)}`);
  }
} finally {
  await removeRunResources(await getEngine(), runId);
}
