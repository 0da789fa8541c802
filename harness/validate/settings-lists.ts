// The settings each PostgreSQL major knows, as shipped in harness/validate/settings/postgres-<major>.json
// (generated from each node image by scripts/postgres-settings.ts): what `faultline validate` checks a
// postgresql.conf's names against, without Docker, what tells which majors a configuration can be
// for, and PostgreSQL's own defaults for the rules. A major without a list of its own (16, untested)
// is checked against the lists of the majors either side of it.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, describeError } from '../errors.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import { didYouMean } from '../schema.ts';
import type { ConfSetting } from './postgresql-conf.ts';

/** Where the lists are, from the package root (package.json "files" ships them). */
export const SETTINGS_DIR = 'harness/validate/settings';

export interface SettingInfo {
  /** When a change takes effect: postmaster (restart), sighup (reload), user, internal (never)... */
  context: string;
  /** bool, integer, real, string or enum. */
  vartype: string;
  /** The built-in default as a postgresql.conf line writes it ('8192kB', 'on', ''). */
  default: string;
}

export interface SettingsList {
  major: number;
  settings: Record<string, SettingInfo>;
}

const lists = new Map<number, SettingsList>();

/** The majors faultline has a list of, oldest first. */
export function listedMajors(): number[] {
  const dir = join(PACKAGE_ROOT, SETTINGS_DIR);
  if (!existsSync(dir)) throw new ConfigError(`faultline's lists of PostgreSQL settings are missing (${dir}): the installation is incomplete; reinstall faultline`);
  return readdirSync(dir)
    .map((f) => /^postgres-(\d+)\.json$/.exec(f)?.[1])
    .filter((m) => m !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The shipped list of one major, or undefined when faultline has none for it. */
export function settingsList(major: number): SettingsList | undefined {
  const cached = lists.get(major);
  if (cached) return cached;
  const file = join(PACKAGE_ROOT, SETTINGS_DIR, `postgres-${major}.json`);
  if (!existsSync(file)) return undefined;
  try {
    const read = JSON.parse(readFileSync(file, 'utf8')) as SettingsList;
    // By lower-case name, as PostgreSQL compares names (TimeZone, DateStyle).
    const list = { major: read.major, settings: Object.fromEntries(Object.entries(read.settings).map(([name, info]) => [name.toLowerCase(), info])) };
    lists.set(major, list);
    return list;
  } catch (error) {
    throw new ConfigError(`faultline's list of PostgreSQL ${major} settings (${file}) cannot be read: ${describeError(error)}; reinstall faultline`);
  }
}

/** The settings a major is judged by: its own list, or the lists either side of it merged (the newer one's defaults win). */
export function settingsOf(major: number): Record<string, SettingInfo> {
  const own = settingsList(major);
  if (own) return own.settings;
  const majors = listedMajors();
  const below = majors.filter((m) => m < major).at(-1);
  const above = majors.find((m) => m > major);
  return { ...(below !== undefined ? settingsList(below)!.settings : {}), ...(above !== undefined ? settingsList(above)!.settings : {}) };
}

/** PostgreSQL's built-in default of a setting in a major ('' when it has no such setting). */
export function defaultOf(major: number, name: string): string {
  return settingsOf(major)[canonical(name, major)]?.default ?? '';
}

/** Old names PostgreSQL still takes for a setting (guc.c's map_old_guc_names): accepted where the setting exists. */
const ALIASES: Record<string, string> = { sort_mem: 'work_mem', vacuum_mem: 'maintenance_work_mem', ssl_ecdh_curve: 'ssl_groups' };

/** The setting a name stands for: itself, or the setting an old name is kept for. */
const canonical = (name: string, major: number) => (settingsOf(major)[name] === undefined && ALIASES[name] && settingsOf(major)[ALIASES[name]] ? ALIASES[name] : name);

/** A setting a module defines (pg_stat_statements.max): no major's list has it, and PostgreSQL accepts any. */
export const isCustom = (name: string) => name.includes('.');

/** The majors of those listed that have a setting of this name. */
function majorsWith(name: string): number[] {
  return listedMajors().filter((m) => settingsList(m)!.settings[canonical(name, m)] !== undefined);
}

const between = (low: number, high: number, listed: number[]) => Array.from({ length: Math.max(0, high - low - 1) }, (_, i) => low + 1 + i).filter((m) => !listed.includes(m));

/** ' (perhaps already in 16: faultline has no list of 16)' when a major between two lists has none. */
function unlistedNote(majors: number[], what: string): string {
  const text = majors.join(' or ');
  return majors.length === 0 ? '' : ` (perhaps already ${what} ${text}: faultline has no list of ${text})`;
}

export interface UnknownSetting {
  message: string;
  /** The major it exists from, when it is a newer major's setting. */
  from?: number;
}

/** Why a setting is not one of this major's, or undefined when it is (or is a module's own). */
export function unknownSetting(name: string, major: number): UnknownSetting | undefined {
  if (isCustom(name) || settingsOf(major)[canonical(name, major)]) return undefined;
  const listed = listedMajors();
  const has = majorsWith(name);
  const not = `'${name}' is not a PostgreSQL ${major} setting`;
  const newer = has.find((m) => m > major);
  if (newer !== undefined) {
    const lacking = Math.max(major, listed.filter((m) => m < newer && !has.includes(m)).at(-1) ?? major);
    return { message: `${not}: this setting exists from PostgreSQL ${newer} on${unlistedNote(between(lacking, newer, listed), 'from')}`, from: newer };
  }
  const older = has.filter((m) => m < major).at(-1);
  if (older !== undefined) {
    const gone = Math.min(major, listed.find((m) => m > older && !has.includes(m)) ?? major);
    return { message: `${not}: it was removed in PostgreSQL ${gone}${unlistedNote(between(older, gone, listed), 'in')}` };
  }
  const guess = didYouMean(name, Object.keys(settingsOf(major)));
  if (guess) return { message: `${not}: did you mean '${guess}'?` };
  return { message: `'${name}' is no setting of PostgreSQL ${listed.join(', ')}: check its spelling; a module's own setting is written with the module's name (pg_stat_statements.max)` };
}

/** What the settings alone say about the major: from the newest major a setting needs, to the last one that has each. */
export interface SettingsSay {
  atLeast?: { major: number; setting: ConfSetting };
  atMost?: { major: number; setting: ConfSetting };
}

export function majorsOfSettings(settings: Iterable<ConfSetting>): SettingsSay {
  const listed = listedMajors();
  const say: SettingsSay = {};
  for (const setting of settings) {
    if (isCustom(setting.name)) continue;
    const has = majorsWith(setting.name);
    if (has.length === 0) continue;
    const first = has[0]!;
    const last = has.at(-1)!;
    if (first > listed[0]! && (!say.atLeast || first > say.atLeast.major)) say.atLeast = { major: first, setting };
    if (last < listed.at(-1)! && (!say.atMost || last < say.atMost.major)) say.atMost = { major: last, setting };
  }
  return say;
}

/**
 * Refuses (ConfigError, exit 2) every setting this major does not have, each with its file and line
 * and why; `decidedBy` ("as the path of … says") says where the major came from, so a user sees which of the two to change.
 */
export function checkSettingNames(settings: Iterable<ConfSetting>, major: number, decidedBy: string, where: (s: ConfSetting) => string): void {
  const problems: string[] = [];
  const newer: number[] = [];
  for (const setting of settings) {
    const unknown = unknownSetting(setting.name, major);
    if (!unknown) continue;
    problems.push(`${where(setting)}: ${unknown.message}`);
    if (unknown.from !== undefined) newer.push(unknown.from);
  }
  if (problems.length === 0) return;
  const other = newer.length > 0 ? ` (--postgres-version ${Math.max(...newer)})` : '';
  const fix = `The configuration is judged as PostgreSQL ${major}, ${decidedBy}: fix or remove ${problems.length === 1 ? 'that line' : 'those lines'}, or give the major the configuration is for${other}.`;
  if (problems.length === 1) throw new ConfigError(`${problems[0]}${/[.?]$/.test(problems[0]!) ? '' : '.'} ${fix}`);
  throw new ConfigError(`${problems.length} settings are not PostgreSQL ${major}'s:\n  - ${problems.join('\n  - ')}\n${fix}`);
}
