// The Redis / Valkey engine's image hook: its recipe (image/Dockerfile on faultline's base) and the
// image built from it.

import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../package-root.ts';
import { ensureImage, type ImageOptions, type ImageRecipe } from '../../cluster/docker/image.ts';

/** The recipe of the Redis / Valkey node image. */
export function redisImageRecipe(): ImageRecipe {
  return { name: 'faultline-redis', label: 'Redis 7.0 and Valkey 8', context: join(PACKAGE_ROOT, 'harness', 'engines', 'redis', 'image') };
}

/** The Redis / Valkey node image, built once and then reused; returns its tag. */
export function redisImage(options: ImageOptions = {}): Promise<string> {
  return ensureImage(redisImageRecipe(), options);
}
