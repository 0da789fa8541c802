// The lists of PostgreSQL settings `faultline validate` ships (harness/validate/settings/) are what
// faultline's own node image of each tested major has: regenerated here in memory with the same code
// that wrote them (scripts/postgres-settings.ts) and compared line for line. A difference means the
// image changed: run `node scripts/postgres-settings.ts` and commit the lists.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TESTED_POSTGRES } from '../../harness/engines/postgres/index.ts';
import { PACKAGE_ROOT } from '../../harness/package-root.ts';
import { listedMajors, SETTINGS_DIR } from '../../harness/validate/settings-lists.ts';
import { renderSettingsList, settingsListOf } from '../../scripts/postgres-settings.ts';

const file = (major: number) => join(PACKAGE_ROOT, SETTINGS_DIR, `postgres-${major}.json`);

describe('the shipped lists of PostgreSQL settings', () => {
  it('are one for each tested major, each small, and shipped with the package', () => {
    expect(listedMajors()).toEqual(TESTED_POSTGRES);
    for (const major of TESTED_POSTGRES) expect(statSync(file(major)).size, `postgres-${major}.json`).toBeLessThan(60_000);
    const { files } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(files).toContain(`${SETTINGS_DIR}/*.json`);
  });

  it.each(TESTED_POSTGRES)('PostgreSQL %i: the list is what its node image has', { timeout: 900_000 }, async (major) => {
    const regenerated = renderSettingsList(await settingsListOf(major));
    expect(readFileSync(file(major), 'utf8')).toBe(regenerated);
    // What validate's checks and the rules rely on is in it.
    const list = JSON.parse(regenerated) as { major: number; settings: Record<string, { default: string }> };
    expect(list.major).toBe(major);
    expect(list.settings.fsync?.default).toBe('on');
    expect(list.settings.summarize_wal === undefined).toBe(major < 17);
    expect(list.settings.io_method === undefined).toBe(major < 18);
  });
});
