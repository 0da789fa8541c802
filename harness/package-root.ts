// Where faultline's own files are (package.json, the docker/ build context), whether it runs from
// its TypeScript sources in a checkout or from the compiled dist/ of an installed package.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'faultline') return dir;
    if (dirname(dir) === dir) throw new Error(`faultline's own package.json was not found in any folder above ${from}: the installation is incomplete`);
  }
}

/** The folder holding faultline's package.json. */
export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** faultline's version, from its package.json. */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
