// 'faultline image': build (or reuse) the node images: faultline's base on each Debian suite, and
// each engine's on it, for the versions asked.

import { postgresImage, postgresImageRecipe, DEFAULT_POSTGRES, TESTED_POSTGRES } from '../engines/postgres/index.ts';
import { redisImage, redisImageRecipe, DEFAULT_REDIS_VERSION, redisVersions, type RedisServer } from '../engines/redis/index.ts';
import { validateTopology } from '../engines/registry.ts';
import { UsageError } from '../errors.ts';
import { createProgress } from '../progress.ts';
import { parse, type Command } from './options.ts';

export const usage = `faultline image [--postgres N]... [--redis N]... [--valkey N]... [--all] [--apt-source LINE]

Builds (or reuses) the node images, each on faultline's base image on the Debian suite that has it.
Without options: the defaults, PostgreSQL ${DEFAULT_POSTGRES}, Redis ${DEFAULT_REDIS_VERSION.redis} and Valkey ${DEFAULT_REDIS_VERSION.valkey}.
  --postgres N     PostgreSQL major N: ${TESTED_POSTGRES.join(', ')} (16 needs --apt-source)
  --redis N        Redis N: ${redisVersions('redis').join(', ')}
  --valkey N       Valkey N: ${redisVersions('valkey').join(', ')}
  --all            every version faultline tests
  --apt-source L   an apt source line with PostgreSQL packages Debian lacks, e.g.
                   "deb [trusted=yes] http://apt.postgresql.org/pub/repos/apt trixie-pgdg main"`;

export const command: Command = async (args) => {
  const { values } = parse(
    args,
    {
      postgres: { type: 'string', multiple: true },
      redis: { type: 'string', multiple: true },
      valkey: { type: 'string', multiple: true },
      all: { type: 'boolean', default: false },
      'apt-source': { type: 'string' },
    },
    'image',
  );
  const none = !values.all && !values.postgres && !values.redis && !values.valkey;
  const postgres = values.all ? TESTED_POSTGRES : none ? [DEFAULT_POSTGRES] : (values.postgres ?? []).map((v) => major(v, '--postgres'));
  const servers: Array<[RedisServer, number]> = [];
  for (const server of ['redis', 'valkey'] as const) {
    const asked = values.all ? redisVersions(server) : none ? [DEFAULT_REDIS_VERSION[server]] : (values[server] ?? []).map((v) => major(v, `--${server}`));
    for (const version of asked) servers.push([server, version]);
  }
  // The same checks a topology gets, so the messages are the same.
  for (const version of postgres) validateTopology({ domains: ['x1'], postgres: { version, nodes: [{ name: 'node', role: 'primary', domain: 'x1' }] } }, `--postgres ${version}`);
  for (const [server, version] of servers) validateTopology({ domains: ['x1'], redis: { engine: server, version, nodes: [{ name: 'node', role: 'primary', domain: 'x1' }] } }, `--${server} ${version}`);
  const log = createProgress();
  const aptSource = values['apt-source'] ? { aptSource: values['apt-source'] } : {};
  const images: Image[] = [
    ...postgres.map((version): Image => ({ label: `PostgreSQL ${version}`, suite: postgresImageRecipe(version, aptSource.aptSource).suite, make: (l) => postgresImage(version, { log: l, ...aptSource }) })),
    ...servers.map(([server, version]): Image => ({ label: `${server === 'valkey' ? 'Valkey' : 'Redis'} ${version}`, suite: redisImageRecipe(server, version).suite, make: (l) => redisImage(server, version, { log: l }) })),
  ];
  // Each suite's images one after the other (they share its base), the suites side by side: most of
  // a build is waiting on the package archive.
  const suites = [...new Set(images.map((image) => image.suite))];
  const tags = new Map<Image, string>();
  await Promise.all(
    suites.map(async (suite) => {
      for (const image of images.filter((i) => i.suite === suite)) tags.set(image, await timed(log, image, suites.length > 1));
    }),
  );
  log.pause();
  process.stdout.write(`${images.map((image) => tags.get(image)).join('\n')}\n`);
  return 0;
};

interface Image {
  label: string;
  suite: string;
  make: (log: (line: string) => void) => Promise<string>;
}

function major(text: string, option: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${option} takes a major version number, e.g. '${option} 17': got '${text}'`);
  return Number(text);
}

async function timed(log: (line: string) => void, image: Image, prefixed: boolean): Promise<string> {
  const started = performance.now();
  const tag = await image.make(prefixed ? (line) => log(`[${image.suite}] ${line}`) : log);
  log(`${image.label}: ${tag} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return tag;
}
