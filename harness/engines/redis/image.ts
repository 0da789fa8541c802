// The Redis / Valkey engine's image hook: its recipe (image/Dockerfile on faultline's base on the
// Debian suite that has the server's version) and the image built from it.

import { join } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { PACKAGE_ROOT } from '../../package-root.ts';
import { ensureImage, type ImageOptions, type ImageRecipe } from '../../cluster/docker/image.ts';
import { DEFAULT_REDIS_VERSION, REDIS_BUILDS, redisVersions, serverLabel, type RedisServer } from './versions.ts';

/** The recipe of the node image for Redis or Valkey of a major version. */
export function redisImageRecipe(server: RedisServer = 'redis', version = DEFAULT_REDIS_VERSION[server]): ImageRecipe {
  const suite = REDIS_BUILDS[server][version];
  if (!suite) throw new ConfigError(`${serverLabel(server, version)} cannot be built here: use ${server} ${redisVersions(server).join(' or ')}`);
  return {
    name: 'faultline-redis',
    variant: `${server}-${version}`,
    suite,
    label: `${serverLabel(server, version)} on Debian ${suite}`,
    context: join(PACKAGE_ROOT, 'harness', 'engines', 'redis', 'image'),
    args: { SERVER_PACKAGE: `${server}-server` },
  };
}

/** The Redis / Valkey node image, built once and then reused; returns its tag. */
export function redisImage(server: RedisServer = 'redis', version = DEFAULT_REDIS_VERSION[server], options: ImageOptions = {}): Promise<string> {
  return ensureImage(redisImageRecipe(server, version), options);
}
