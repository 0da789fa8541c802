// The node image: built from docker/Dockerfile on first use and tagged by the hash of its build
// context and arguments, so a changed Dockerfile rebuilds and an unchanged one is reused. When the
// base image cannot be pulled (no registry), docker/build-base-image.sh makes it with debootstrap.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { EnvironmentError, describeError } from '../../errors.ts';
import { getEngine } from './engine.ts';
import { PACKAGE_ROOT } from '../../package-root.ts';

export const DOCKER_CONTEXT = join(PACKAGE_ROOT, 'docker');
export const BASE_IMAGE = 'debian:bookworm-slim';

export interface ImageOptions {
  postgresVersion?: number;
  log?: (line: string) => void;
}

/** Binaries a local `make` in docker/faultfs/ leaves behind: built in the image, never sent to it. */
const BUILT = new Set(['faultfs', 'faultfs-ctl', 'faultfs-exec']);

/**
 * The build context: the Dockerfile, the helpers under docker/node/ and faultfs's sources under
 * docker/faultfs/ (not the base-image script, not binaries built there by hand).
 */
function buildContext(): string[] {
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

/** The tag the node image has for these build arguments: changes whenever the context changes. */
export function nodeImageTag(postgresVersion = 15): string {
  const hash = createHash('sha256');
  hash.update(`PG_MAJOR=${postgresVersion}\nBASE_IMAGE=${BASE_IMAGE}\n`);
  for (const file of buildContext()) {
    hash.update(relative(DOCKER_CONTEXT, file));
    hash.update(readFileSync(file));
  }
  return `faultline-node:pg${postgresVersion}-${hash.digest('hex').slice(0, 12)}`;
}

/** Builds the node image if it is not there yet, and returns its tag. */
export async function ensureNodeImage(options: ImageOptions = {}): Promise<string> {
  const version = options.postgresVersion ?? 15;
  const log = options.log ?? (() => {});
  const tag = nodeImageTag(version);
  const { docker } = await getEngine();
  if (await imageExists(tag)) return tag;
  await ensureBaseImage(log);
  log(`building node image ${tag} (PostgreSQL ${version}) from ${DOCKER_CONTEXT}`);
  const files = buildContext().map((file) => relative(DOCKER_CONTEXT, file));
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(
      { context: DOCKER_CONTEXT, src: files },
      { t: tag, buildargs: { PG_MAJOR: String(version), BASE_IMAGE }, rm: true, forcerm: true },
    );
  } catch (error) {
    throw new EnvironmentError(`Building the node image ${tag} failed to start: ${describeError(error)}`, { cause: error });
  }
  const tail: string[] = [];
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
          tail.push(line);
          if (tail.length > 30) tail.shift();
          if (/^Step \d+\/\d+/.test(line)) log(`  ${line.slice(0, 140)}`);
        }
      },
    );
  }).catch((error: unknown) => {
    throw new EnvironmentError(
      `The node image ${tag} failed to build: ${describeError(error)}\nLast build output:\n${tail.join('\n')}\n` +
        `Check that containers can reach a Debian package mirror (apt-get runs inside the build).`,
      { cause: error },
    );
  });
  if (!(await imageExists(tag))) throw new EnvironmentError(`The node image ${tag} was not created by the build`);
  log(`built node image ${tag}`);
  return tag;
}

async function imageExists(tag: string): Promise<boolean> {
  const { docker } = await getEngine();
  return docker
    .getImage(tag)
    .inspect()
    .then(() => true, () => false);
}

async function ensureBaseImage(log: (line: string) => void): Promise<void> {
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
    const child = execa('bash', [join(DOCKER_CONTEXT, 'build-base-image.sh'), BASE_IMAGE], { all: true });
    for await (const line of child.iterable({ from: 'all' })) log(`  ${String(line)}`);
    await child;
  } catch (error) {
    throw new EnvironmentError(
      `The base image ${BASE_IMAGE} could not be pulled nor built with debootstrap (${describeError(error)}). ` +
        `Pull it on a machine with registry access and 'docker load' it, or run docker/build-base-image.sh as root on Debian.`,
      { cause: error },
    );
  }
}
