// The PostgreSQL majors faultline builds node images for, and the Debian suite that has each.
// PostgreSQL 16 is in no Debian suite this project can reach: it builds only from an apt source
// the user supplies (the PostgreSQL project's, PGDG), and is untested here.

import type { DebianSuite } from '../../cluster/docker/image.ts';

export interface PostgresBuild {
  suite: DebianSuite;
  /** Built and tested by faultline's CI; false: only from an apt source the user gives. */
  tested: boolean;
}

export const POSTGRES_BUILDS: Readonly<Record<number, PostgresBuild>> = {
  15: { suite: 'bookworm', tested: true },
  16: { suite: 'trixie', tested: false },
  17: { suite: 'trixie', tested: true },
  18: { suite: 'forky', tested: true },
};

/** Debian stable's major (trixie): what a topology without `postgres.version` runs. */
export const DEFAULT_POSTGRES = 17;

/** The majors a topology may name, tested ones first. */
export const POSTGRES_VERSIONS = Object.keys(POSTGRES_BUILDS).map(Number);
export const TESTED_POSTGRES = POSTGRES_VERSIONS.filter((v) => POSTGRES_BUILDS[v]!.tested);

/** The environment variable that gives a PGDG apt source for majors Debian lacks (16). */
export const PG_APT_SOURCE_ENV = 'FAULTLINE_PG_APT_SOURCE';

/** What to tell a user who asks for a major faultline cannot build here. */
export function supportedPostgresText(): string {
  return `${TESTED_POSTGRES.join(', ')} (built from Debian's archive and tested), or 16 with an apt source you supply (${PG_APT_SOURCE_ENV}; see README, "PostgreSQL 16")`;
}
