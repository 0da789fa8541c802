// 'faultline image': build (or reuse) the node images: faultline's base on each Debian suite, and
// each engine's on it, for the versions asked.

import { postgresImage, DEFAULT_POSTGRES, TESTED_POSTGRES } from '../engines/postgres/index.ts';
import { redisImage, DEFAULT_REDIS_VERSION, redisVersions, type RedisServer } from '../engines/redis/index.ts';
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
  const tags: string[] = [];
  for (const version of postgres) tags.push(await timed(log, `PostgreSQL ${version}`, () => postgresImage(version, { log, ...(values['apt-source'] ? { aptSource: values['apt-source'] } : {}) })));
  for (const [server, version] of servers) tags.push(await timed(log, `${server} ${version}`, () => redisImage(server, version, { log })));
  log.pause();
  process.stdout.write(`${tags.join('\n')}\n`);
  return 0;
};

function major(text: string, option: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${option} takes a major version number, e.g. '${option} 17': got '${text}'`);
  return Number(text);
}

async function timed(log: (line: string) => void, what: string, make: () => Promise<string>): Promise<string> {
  const started = performance.now();
  const tag = await make();
  log(`${what}: ${tag} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return tag;
}
