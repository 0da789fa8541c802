// Benchmark: how long each node image takes to build, cold and cached: faultline's base image on
// each Debian suite (bookworm, trixie, forky), and on it PostgreSQL 15, 17 and 18, Redis 7 and 8,
// and Valkey 8 and 9.
//   cached: ensureImage on an image that is already here (hashing its build context, asking Docker
//           for the tag), as a fresh `faultline run` pays it: each in a process of its own, timed
//           from its first image check (Docker's client already connected). Should be about 0.
//   cold:   the image's build context built again with Docker's no-cache option into a scratch tag,
//           which is removed afterwards with the untagged images that build left; the images
//           faultline uses stay as they are. An engine's image builds on the base image as it is;
//           a base image builds from Debian's image of its suite, debian:<suite>-slim, which is
//           here already and is neither pulled nor made again with debootstrap. A machine with
//           nothing yet pays its base and its engine's image, plus getting Debian's image.
// Images missing at the start are first built the ordinary way (said on stderr and in the table).
// Cold builds: every image, or when CI=true the default PostgreSQL image alone (CI's image step prints
// every image's cold build time already, as it builds them on a fresh machine);
// --cold all|ci|none overrides either.
// Run: npm run bench:images [-- --cold all|ci|none]

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { getEngine } from '../harness/cluster/docker/index.ts';
import { baseImageTag, buildWithoutCache, DEBIAN_SUITES, ensureImage, imageTag, type DebianSuite, type ImageRecipe } from '../harness/cluster/docker/image.ts';
import { DEFAULT_POSTGRES, postgresImageRecipe, TESTED_POSTGRES } from '../harness/engines/postgres/index.ts';
import { redisImageRecipe, redisVersions, type RedisServer } from '../harness/engines/redis/index.ts';

const { values } = parseArgs({
  options: {
    cold: { type: 'string', default: process.env.CI ? 'ci' : 'all' },
    // Internal: time one cached image check in this process and print it (see `cachedMs`).
    cached: { type: 'string' },
  },
});
if (!['all', 'ci', 'none'].includes(values.cold)) throw new Error(`--cold takes all, ci or none, got '${values.cold}'`);

interface Target {
  key: string;
  label: string;
  suite: DebianSuite;
  /** None: faultline's base image on the suite. */
  recipe?: ImageRecipe;
}

const engineRecipes: ImageRecipe[] = [
  ...TESTED_POSTGRES.map((version) => postgresImageRecipe(version)),
  ...(['redis', 'valkey'] as RedisServer[]).flatMap((server) => redisVersions(server).map((version) => redisImageRecipe(server, version))),
];
/** An image's short name: 'postgres-17', 'redis-8', 'valkey-9' (what --cached takes, and the scratch tag's start). */
function keyOf(recipe: ImageRecipe): string {
  return /^\d/.test(recipe.variant) ? `${recipe.name.replace(/^faultline-/, '')}-${recipe.variant}` : recipe.variant;
}
// Grouped by suite: its base image, then the engines' images built on it.
const targets: Target[] = DEBIAN_SUITES.filter((suite) => engineRecipes.some((recipe) => recipe.suite === suite)).flatMap((suite) => [
  { key: `base-${suite}`, label: `base on Debian ${suite}`, suite },
  ...engineRecipes
    .filter((recipe) => recipe.suite === suite)
    .map((recipe) => ({ key: keyOf(recipe), label: recipe.label.replace(' on Debian ', ' on '), suite, recipe })),
]);
// What a CI run builds cold: the default PostgreSQL image (the others' cold times are in CI's image step).
const coldUnderCi = new Set([keyOf(postgresImageRecipe(DEFAULT_POSTGRES))]);

const tagOf = (target: Target) => (target.recipe ? imageTag(target.recipe) : baseImageTag(target.suite));

if (values.cached !== undefined) {
  const target = targets.find((t) => t.key === values.cached);
  if (!target) throw new Error(`No image '${values.cached}': use one of ${targets.map((t) => t.key).join(', ')}`);
  await getEngine();
  let built = false;
  const started = performance.now();
  await ensureImage(target.recipe, { suite: target.suite, log: (line) => (built ||= line.startsWith('building image ')) });
  console.log(JSON.stringify({ ms: performance.now() - started, built }));
} else {
  await main();
}

/** One cached image check, in a fresh process (this file with --cached): nothing remembered from earlier checks. */
async function cachedMs(target: Target): Promise<{ ms: number; built: boolean }> {
  const { stdout } = await execa(process.execPath, [fileURLToPath(import.meta.url), '--cached', target.key]);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { ms: number; built: boolean };
}

/** Removes the scratch tag, then the images the build made that no tag holds (never the images it started from). */
async function removeScratch(tag: string, ids: string[]): Promise<void> {
  const { docker } = await getEngine();
  await docker
    .getImage(tag)
    .remove()
    .catch(() => {});
  for (const id of [...ids].reverse()) {
    const info = await docker
      .getImage(id)
      .inspect()
      .catch(() => undefined);
    if (!info || (info.RepoTags ?? []).some((repoTag) => repoTag !== '<none>:<none>')) continue;
    await docker
      .getImage(id)
      .remove()
      .catch(() => {});
  }
}

async function main(): Promise<void> {
  const benchStart = performance.now();
  const log = (line: string) => console.error(line);
  const builtFirst = new Map<string, number>();

  // Every image here, the ordinary way (a missing one is built now, once).
  for (const target of targets) {
    let building = false;
    const started = performance.now();
    await ensureImage(target.recipe, {
      suite: target.suite,
      log: (line) => {
        if (line.startsWith('building image ')) building = true;
        log(line);
      },
    });
    if (building) builtFirst.set(target.key, performance.now() - started);
  }

  const cached = new Map<string, { ms: number; built: boolean }>();
  for (const target of targets) cached.set(target.key, await cachedMs(target));

  const cold = new Map<string, number | 'failed'>();
  const chosen = targets.filter((target) => values.cold === 'all' || (values.cold === 'ci' && coldUnderCi.has(target.key)));
  for (const target of chosen) {
    const scratch = `faultline-bench-cold:${target.key}-${process.pid}`;
    const ids: string[] = [];
    log(`images: ${target.label} without cache into ${scratch}`);
    const started = performance.now();
    try {
      ids.push(...(await buildWithoutCache(scratch, target.recipe, { suite: target.suite, log })));
      cold.set(target.key, performance.now() - started);
    } catch (error) {
      log(`images: ${target.label}: ${error instanceof Error ? error.message : String(error)}`);
      cold.set(target.key, 'failed');
    } finally {
      await removeScratch(scratch, ids);
    }
  }

  const secs = (ms: number, digits: number) => `${(ms / 1000).toFixed(digits)}`;
  const row = (image: string, tag: string, coldText: string, cachedText: string) =>
    console.log(`  ${image.padEnd(28)}${tag.padEnd(47)}${coldText.padStart(9)}${cachedText.padStart(10)}`);
  console.log('images: build time per image, cold (no cache) and cached (already built)');
  row('image', 'tag', 'cold s', 'cached s');
  for (const target of targets) {
    const c = cold.get(target.key);
    const first = builtFirst.get(target.key);
    const check = cached.get(target.key)!;
    row(target.label + (first === undefined ? '' : ' *'), tagOf(target), c === undefined ? '-' : c === 'failed' ? 'failed' : secs(c, 1), `${secs(check.ms, 3)}${check.built ? ' !' : ''}`);
  }
  for (const [key, ms] of builtFirst) console.log(`  * ${targets.find((t) => t.key === key)!.label} was missing: built the ordinary way first, in ${secs(ms, 0)} s`);
  if ([...cached.values()].some((check) => check.built)) console.log('  ! its check built it: its build context changed during this run (the time is a build from Docker\'s cache)');
  console.log('  cold: built again with no cache into a scratch tag (then removed); an engine image on its base as it is,');
  console.log('        a base image from debian:<suite>-slim already here (not pulled, not made again with debootstrap).');
  if (values.cold === 'ci') console.log(`  cold builds: ${chosen.map((t) => t.label).join(', ')} only, as CI=true (the image step of CI prints each image's cold build; --cold all for every image here)`);
  if (values.cold === 'none') console.log('  cold builds: none (--cold none)');
  for (const suite of new Set(chosen.map((t) => t.suite))) {
    const base = cold.get(`base-${suite}`);
    const slowest = Math.max(0, ...chosen.filter((t) => t.suite === suite && t.recipe).map((t) => cold.get(t.key)).filter((v): v is number => typeof v === 'number'));
    if (typeof base === 'number' && slowest > 0) console.log(`  from nothing but Debian's image on ${suite}: about ${secs(base + slowest, 0)} s (base + its slowest engine image)`);
  }
  console.log(`  whole benchmark: ${secs(performance.now() - benchStart, 0)} s`);
  if ([...cold.values()].includes('failed')) process.exitCode = 1;
}
