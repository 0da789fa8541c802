// The PostgreSQL engine's image hook: its recipe (image/Dockerfile on faultline's base, with the
// topology's major version) and the image built from it.

import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../package-root.ts';
import { ensureImage, type ImageOptions, type ImageRecipe } from '../../cluster/docker/image.ts';

/** The recipe of the PostgreSQL node image for a major version. */
export function postgresImageRecipe(version = 15): ImageRecipe {
  return { name: 'faultline-postgres', label: `PostgreSQL ${version}`, context: join(PACKAGE_ROOT, 'harness', 'engines', 'postgres', 'image'), args: { PG_MAJOR: String(version) } };
}

/** The PostgreSQL node image for a major version, built once and then reused; returns its tag. */
export function postgresImage(version = 15, options: ImageOptions = {}): Promise<string> {
  return ensureImage(postgresImageRecipe(version), options);
}
