// Generates harness/validate/settings/postgres-<major>.json: every setting a PostgreSQL major knows
// (name, context, type, default), read from the pg_settings view of a throwaway server started in
// faultline's own node image of that major. `faultline validate` checks a user's postgresql.conf
// against these lists without Docker; test/integration/settings-lists.test.ts regenerates them with
// the functions below and compares.
//
//   node scripts/postgres-settings.ts            every tested major (builds the images it lacks)
//   node scripts/postgres-settings.ts 17 18      only these majors
//   node scripts/postgres-settings.ts 18 --image TAG   one major, read from a given image
//
// pg_settings rather than `postgres --describe-config`: the latter leaves out the settings kept out
// of the sample file (zero_damaged_pages, ignore_checksum_failure, the debug_ ones...), which a
// postgresql.conf may still set.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { getEngine } from '../harness/cluster/docker/engine.ts';
import { postgresImage, TESTED_POSTGRES } from '../harness/engines/postgres/index.ts';
import { describeError } from '../harness/errors.ts';
import { PACKAGE_ROOT } from '../harness/package-root.ts';
import { SETTINGS_DIR, type SettingInfo, type SettingsList } from '../harness/validate/settings-lists.ts';

/** initdb and a server on a Unix socket only, as the postgres user, then pg_settings as one JSON document. */
const QUERY =
  "select json_agg(json_build_object('name', name, 'context', context, 'vartype', vartype, 'boot_val', boot_val, 'unit', unit) order by name) from pg_settings";
const SCRIPT = [
  'set -e',
  'initdb -D /tmp/settings-list -A trust >/dev/null',
  `pg_ctl -D /tmp/settings-list -o "-c listen_addresses= -k /tmp" -l /tmp/settings-list.log -w start >/dev/null`,
  `psql -h /tmp -d postgres -XAt -c "${QUERY}"`,
  'pg_ctl -D /tmp/settings-list -m immediate stop >/dev/null',
].join('\n');

/** The units pg_settings reports, and how many of the next unit a postgresql.conf value takes. */
const SCALED = /^(\d*)(kB|MB|GB|TB|B|ms|s|min|h|d|us)$/;

/** A default as a postgresql.conf line writes it: the boot value with its unit ('1024' in '8kB' is '8192kB'). */
export function confDefault(bootVal: string | null, unit: string | null): string {
  const value = bootVal ?? '';
  if (!unit || !/^-?\d+$/.test(value) || Number(value) <= 0) return value;
  const scaled = SCALED.exec(unit);
  if (!scaled) return value;
  return `${Number(value) * Number(scaled[1] || 1)}${scaled[2]}`;
}

interface Row {
  name: string;
  context: string;
  vartype: string;
  boot_val: string | null;
  unit: string | null;
}

/** The settings of the PostgreSQL in `image` (a faultline node image), read from a server started there. */
export async function readSettingsList(image: string, major: number): Promise<SettingsList> {
  const { docker } = await getEngine();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const [status, container] = (await docker.run(image, [], [stdout, stderr], { Entrypoint: ['sh', '-c', SCRIPT], User: 'postgres', Tty: false })) as [
    { StatusCode: number },
    { remove: (o: { force: boolean }) => Promise<unknown> },
  ];
  await container.remove({ force: true }).catch(() => {});
  if (status.StatusCode !== 0) {
    throw new Error(`Reading the settings of PostgreSQL ${major} in ${image} failed (exit ${status.StatusCode}): ${Buffer.concat(err).toString().trim()}`);
  }
  let rows: Row[];
  try {
    rows = JSON.parse(Buffer.concat(out).toString().trim()) as Row[];
  } catch (error) {
    throw new Error(`The settings of PostgreSQL ${major} in ${image} are not the JSON expected: ${describeError(error)}`);
  }
  const version = rows.find((r) => r.name === 'server_version_num')?.boot_val ?? '';
  if (Math.floor(Number(version) / 10000) !== major) throw new Error(`${image} runs PostgreSQL ${version || '(unknown)'}, not ${major}`);
  const settings: Record<string, SettingInfo> = {};
  for (const row of rows) settings[row.name] = { context: row.context, vartype: row.vartype, default: confDefault(row.boot_val, row.unit) };
  return { major, settings };
}

/** The file's text: one setting a line, so that a new major's list reads as a short diff. */
export function renderSettingsList(list: SettingsList): string {
  const lines = Object.entries(list.settings).map(([name, info]) => `    ${JSON.stringify(name)}: ${JSON.stringify(info)}`);
  return `{\n  "major": ${list.major},\n  "settings": {\n${lines.join(',\n')}\n  }\n}\n`;
}

/** The list of a major as faultline's own node image of it has it (built first when missing). */
export async function settingsListOf(major: number, log: (line: string) => void = () => {}): Promise<SettingsList> {
  return readSettingsList(await postgresImage(major, { log }), major);
}

async function main(args: string[]): Promise<void> {
  const imageAt = args.indexOf('--image');
  const image = imageAt >= 0 ? args[imageAt + 1] : undefined;
  const majors = args.filter((a, i) => /^\d+$/.test(a) && (imageAt < 0 || i !== imageAt + 1)).map(Number);
  if (image && majors.length !== 1) throw new Error('--image TAG needs exactly one major: node scripts/postgres-settings.ts 18 --image TAG');
  for (const major of majors.length > 0 ? majors : TESTED_POSTGRES) {
    const list = image ? await readSettingsList(image, major) : await settingsListOf(major, (line) => process.stderr.write(`${line}\n`));
    const file = join(PACKAGE_ROOT, SETTINGS_DIR, `postgres-${major}.json`);
    writeFileSync(file, renderSettingsList(list));
    process.stdout.write(`${file}: ${Object.keys(list.settings).length} settings\n`);
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`postgres-settings: ${describeError(error)}\n`);
    process.exit(1);
  });
}
