// The PostgreSQL engine's image hook: its recipe (image/Dockerfile on faultline's base on the Debian
// suite that has the major) and the image built from it.

import { join } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { PACKAGE_ROOT } from '../../package-root.ts';
import { ensureImage, type ImageOptions, type ImageRecipe } from '../../cluster/docker/image.ts';
import { DEFAULT_POSTGRES, PG_APT_SOURCE_ENV, POSTGRES_BUILDS, supportedPostgresText } from './versions.ts';

/**
 * The recipe of the PostgreSQL node image for a major version. A major Debian lacks (16) needs an
 * apt source (`aptSource`, or FAULTLINE_PG_APT_SOURCE), e.g.
 * "deb [trusted=yes] http://apt.postgresql.org/pub/repos/apt trixie-pgdg main".
 */
export function postgresImageRecipe(version = DEFAULT_POSTGRES, aptSource = process.env[PG_APT_SOURCE_ENV] ?? ''): ImageRecipe {
  const build = POSTGRES_BUILDS[version];
  if (!build) throw new ConfigError(`PostgreSQL ${version} cannot be built here: use ${supportedPostgresText()}`);
  if (!build.tested && !aptSource.trim()) {
    throw new ConfigError(
      `PostgreSQL ${version} is in none of the Debian suites faultline builds from: give an apt source that has postgresql-${version}, ` +
        `e.g. ${PG_APT_SOURCE_ENV}="deb [trusted=yes] http://apt.postgresql.org/pub/repos/apt ${build.suite}-pgdg main" ` +
        `(or 'faultline image --postgres ${version} --apt-source "..."'). PostgreSQL ${version} is not tested by faultline.`,
    );
  }
  const args: Record<string, string> = { PG_MAJOR: String(version) };
  if (aptSource.trim()) args.PG_APT_SOURCE = aptSource.trim();
  return {
    name: 'faultline-postgres',
    variant: String(version),
    suite: build.suite,
    label: `PostgreSQL ${version} on Debian ${build.suite}`,
    context: join(PACKAGE_ROOT, 'harness', 'engines', 'postgres', 'image'),
    args,
  };
}

/** The PostgreSQL node image for a major version, built once and then reused; returns its tag. */
export function postgresImage(version = DEFAULT_POSTGRES, options: ImageOptions & { aptSource?: string } = {}): Promise<string> {
  return ensureImage(postgresImageRecipe(version, options.aptSource), options);
}
