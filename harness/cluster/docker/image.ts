// The node images: faultline's base (docker/Dockerfile) on a Debian suite, and each engine's on top
// of it (its recipe, from its image hook), built on first use and tagged by the engine, the version,
// the suite and the hash of their build context and arguments, so a changed file rebuilds and an
// unchanged one is reused. When Debian's image cannot be pulled (no registry),
// docker/build-base-image.sh makes it with debootstrap from the archive apt already uses.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { EnvironmentError, describeError } from '../../errors.ts';
import { getEngine } from './engine.ts';
import { PACKAGE_ROOT } from '../../package-root.ts';

export const DOCKER_CONTEXT = join(PACKAGE_ROOT, 'docker');

/** The Debian suites node images are built on: each engine version names the one that has it. */
export const DEBIAN_SUITES = ['bookworm', 'trixie', 'forky'] as const;
export type DebianSuite = (typeof DEBIAN_SUITES)[number];
/** Debian stable's suite: the base image when no engine version names another. */
const DEFAULT_SUITE: DebianSuite = 'trixie';

/** Debian's own image of a suite, pulled or made with debootstrap: what faultline's base starts from. */
export function debianImage(suite: DebianSuite): string {
  return `debian:${suite}-slim`;
}

/**
 * An engine's image: a folder with a Dockerfile that starts `FROM ${BASE_IMAGE}` (faultline's base
 * image, passed as that build argument) and the files it copies in. The engine's image hook hands
 * it to ensureImage.
 */
export interface ImageRecipe {
  /** The image's repository name, e.g. 'faultline-postgres'. */
  name: string;
  /** What the tag starts with: the server and its version, e.g. '17' or 'valkey-9'. */
  variant: string;
  /** The Debian suite the image is built on (its packages come from that suite). */
  suite: DebianSuite;
  /** Said in progress lines, e.g. 'PostgreSQL 17'. */
  label: string;
  /** The folder holding its Dockerfile and files. */
  context: string;
  /** Build arguments, e.g. { PG_MAJOR: '15' }; part of the tag. */
  args?: Record<string, string>;
}

export interface ImageOptions {
  log?: (line: string) => void;
}

/** Binaries a local `make` in docker/faultfs/ leaves behind: built in the image, never sent to it. */
const BUILT = new Set(['faultfs', 'faultfs-ctl', 'faultfs-exec']);

/**
 * The base image's build context: the Dockerfile, the helpers under docker/node/ and faultfs's
 * sources under docker/faultfs/ (not the base-image script, not binaries built there by hand).
 */
function baseContext(): string[] {
  const faultfs = contextFiles(join(DOCKER_CONTEXT, 'faultfs')).filter((file) => !BUILT.has(relative(join(DOCKER_CONTEXT, 'faultfs'), file)) && !file.endsWith('.o'));
  return [join(DOCKER_CONTEXT, 'Dockerfile'), ...contextFiles(join(DOCKER_CONTEXT, 'node')), ...faultfs];
}

function contextFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((entry) => {
      const path = join(dir, entry);
      return statSync(path).isDirectory() ? contextFiles(path) : [path];
    })
    .sort();
}

/** A tag that names what is inside and changes whenever the context's files or the build arguments change. */
function tagOf(name: string, prefix: string, context: string, files: string[], args: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const [key, value] of Object.entries(args).sort()) hash.update(`${key}=${value}\n`);
  for (const file of files) {
    hash.update(relative(context, file));
    hash.update(readFileSync(file));
  }
  return `${name}:${prefix}-${hash.digest('hex').slice(0, 12)}`;
}

// A process hashes each context once and checks (or builds) each image once: campaigns ask for
// every run's image, and runs started side by side must not build the same image twice.
const tags = new Map<string, string>();
const ensured = new Map<string, Promise<string>>();

/** The tag of faultline's base image (docker/Dockerfile) on a Debian suite. */
export function baseImageTag(suite: DebianSuite = DEFAULT_SUITE): string {
  return remembered(`base ${suite}`, () => tagOf('faultline-base', suite, DOCKER_CONTEXT, baseContext(), { BASE_IMAGE: debianImage(suite) }));
}

/** The tag an engine's image has: its own files and arguments, and the base it is built on. */
export function imageTag(recipe: ImageRecipe): string {
  return remembered(JSON.stringify([recipe.name, recipe.variant, recipe.suite, recipe.context, recipe.args ?? {}]), () =>
    tagOf(recipe.name, `${recipe.variant}-${recipe.suite}`, recipe.context, contextFiles(recipe.context), { ...recipe.args, FAULTLINE_BASE: baseImageTag(recipe.suite) }),
  );
}

function remembered(key: string, make: () => string): string {
  let tag = tags.get(key);
  if (tag === undefined) tags.set(key, (tag = make()));
  return tag;
}

/**
 * Builds an engine's image (and faultline's base image under it) if it is not there yet, and
 * returns its tag; without a recipe, the base image alone on a suite (the volumes, faultfs,
 * node-init).
 */
export function ensureImage(recipe?: ImageRecipe, options: ImageOptions & { suite?: DebianSuite } = {}): Promise<string> {
  const suite = recipe?.suite ?? options.suite ?? DEFAULT_SUITE;
  const tag = recipe ? imageTag(recipe) : baseImageTag(suite);
  let done = ensured.get(tag);
  if (!done) {
    done = ensureBuilt(tag, suite, recipe, options.log ?? (() => {}));
    ensured.set(tag, done);
    // A failed build is tried again by the next caller.
    done.catch(() => ensured.delete(tag));
  }
  return done;
}

async function ensureBuilt(tag: string, suite: DebianSuite, recipe: ImageRecipe | undefined, log: (line: string) => void): Promise<string> {
  if (await imageExists(tag)) return tag;
  if (!recipe) {
    await ensureDebianImage(suite, log);
    await build({ tag, label: `faultline base on Debian ${suite}`, context: DOCKER_CONTEXT, files: baseContext(), args: { BASE_IMAGE: debianImage(suite) } }, log);
    return tag;
  }
  const base = await ensureImage(undefined, { log, suite });
  await build({ tag, label: recipe.label, context: recipe.context, files: contextFiles(recipe.context), args: { ...recipe.args, BASE_IMAGE: base } }, log);
  return tag;
}

/**
 * Builds an image again from nothing (Docker's no-cache option) into `tag`, a tag of the caller's
 * that ensureImage never uses, and leaves ensureImage's images as they are: an engine's image from
 * its recipe on faultline's base image (ensureImage's, built first if it is missing), or, without a
 * recipe, the base image on a suite from Debian's image, which must be here already (it is neither
 * pulled nor made with debootstrap here). For measuring a cold build. Returns the ids the build
 * printed, in build order: the images it starts FROM (tagged: not the caller's to remove), one per
 * step, and the final one; the caller removes `tag`, then those of them no tag holds (the faultfs
 * build stage's, which nothing else removes).
 */
export async function buildWithoutCache(tag: string, recipe?: ImageRecipe, options: ImageOptions & { suite?: DebianSuite } = {}): Promise<string[]> {
  const log = options.log ?? (() => {});
  if (recipe) {
    const base = await ensureImage(undefined, { log, suite: recipe.suite });
    return build({ tag, label: `${recipe.label}, without cache`, context: recipe.context, files: contextFiles(recipe.context), args: { ...recipe.args, BASE_IMAGE: base }, nocache: true }, log);
  }
  const suite = options.suite ?? DEFAULT_SUITE;
  if (!(await imageExists(debianImage(suite)))) throw new EnvironmentError(`The image ${debianImage(suite)} is not here: build faultline's base on Debian ${suite} once first (ensureImage)`);
  return build({ tag, label: `faultline base on Debian ${suite}, without cache`, context: DOCKER_CONTEXT, files: baseContext(), args: { BASE_IMAGE: debianImage(suite) }, nocache: true }, log);
}

/** Builds an image; returns the ids of the images the build made, in order (" ---> id" lines). */
async function build(
  image: { tag: string; label: string; context: string; files: string[]; args: Record<string, string>; nocache?: boolean },
  log: (line: string) => void,
): Promise<string[]> {
  const { docker } = await getEngine();
  const { tag } = image;
  log(`building image ${tag} (${image.label}) from ${image.context}`);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(
      { context: image.context, src: image.files.map((file) => relative(image.context, file)) },
      { t: tag, buildargs: image.args, rm: true, forcerm: true, ...(image.nocache ? { nocache: true } : {}) },
    );
  } catch (error) {
    throw new EnvironmentError(`Building the image ${tag} failed to start: ${describeError(error)}`, { cause: error });
  }
  const tail: string[] = [];
  const made: string[] = [];
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(error) : resolve()),
      (event: { stream?: string; error?: string; errorDetail?: { message?: string } }) => {
        if (event.error) {
          reject(new Error(event.errorDetail?.message ?? event.error));
          return;
        }
        for (const line of (event.stream ?? '').split('\n')) {
          if (!line.trim()) continue;
          const id = /^ ---> ([0-9a-f]{12,64})$/.exec(line)?.[1];
          if (id !== undefined) made.push(id);
          tail.push(line);
          if (tail.length > 30) tail.shift();
          if (/^Step \d+\/\d+/.test(line)) log(`  ${line.slice(0, 140)}`);
        }
      },
    );
  }).catch((error: unknown) => {
    throw new EnvironmentError(
      `The image ${tag} failed to build: ${describeError(error)}\nLast build output:\n${tail.join('\n')}\n` +
        `Check that containers can reach a Debian package mirror (apt-get runs inside the build).`,
      { cause: error },
    );
  });
  if (!(await imageExists(tag))) throw new EnvironmentError(`The image ${tag} was not created by the build`);
  log(`built image ${tag}`);
  return made;
}

async function imageExists(tag: string): Promise<boolean> {
  const { docker } = await getEngine();
  return docker
    .getImage(tag)
    .inspect()
    .then(() => true, () => false);
}

// One debootstrap at a time: two suites made side by side compete for the one mirror and disk.
let debootstrapping: Promise<unknown> = Promise.resolve();

async function ensureDebianImage(suite: DebianSuite, log: (line: string) => void): Promise<void> {
  const BASE_IMAGE = debianImage(suite);
  if (await imageExists(BASE_IMAGE)) return;
  const { docker } = await getEngine();
  log(`pulling base image ${BASE_IMAGE}`);
  const pulled = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 120_000);
    docker.pull(BASE_IMAGE, (error: Error | null, stream?: NodeJS.ReadableStream) => {
      if (error || !stream) {
        clearTimeout(timer);
        resolve(false);
        return;
      }
      docker.modem.followProgress(stream, (err: Error | null) => {
        clearTimeout(timer);
        resolve(!err);
      });
    });
  });
  if (pulled && (await imageExists(BASE_IMAGE))) return;
  log(`cannot pull ${BASE_IMAGE} (no registry reachable?): building it locally with debootstrap (docker/build-base-image.sh)`);
  try {
    const made = debootstrapping.then(async () => {
      if (await imageExists(BASE_IMAGE)) return;
      const child = execa('bash', [join(DOCKER_CONTEXT, 'build-base-image.sh'), BASE_IMAGE, suite], { all: true });
      for await (const line of child.iterable({ from: 'all' })) log(`  ${String(line)}`);
      await child;
    });
    debootstrapping = made.catch(() => {});
    await made;
  } catch (error) {
    throw new EnvironmentError(
      `The base image ${BASE_IMAGE} could not be pulled nor built with debootstrap (${describeError(error)}). ` +
        `Pull it on a machine with registry access and 'docker load' it, or run docker/build-base-image.sh as root on Debian.`,
      { cause: error },
    );
  }
}
