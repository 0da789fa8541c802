// Reads a user's postgresql.conf as PostgreSQL does (guc-file.l): `name = value` or `name value`,
// `#` comments, single-quoted values with '' and backslash escapes, `include`,
// `include_if_exists` and `include_dir` (relative to the including file), and later lines
// overriding earlier ones. The user's files are only read. Every setting keeps where it came
// from, so a message can name the file and line.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, describeError } from '../errors.ts';

export interface ConfSetting {
  /** Lower case, as PostgreSQL compares names. */
  name: string;
  value: string;
  file: string;
  line: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_$.]*/;
const MAX_DEPTH = 10;

/** The value of a line after `name [=]`: a quoted string (escapes resolved) or a bare word. */
function readValue(rest: string, where: string): string {
  if (rest.startsWith("'")) {
    let value = '';
    for (let i = 1; i < rest.length; i++) {
      const c = rest[i]!;
      if (c === "'") {
        if (rest[i + 1] === "'") {
          value += "'";
          i++;
          continue;
        }
        const after = rest.slice(i + 1).trim();
        if (after && !after.startsWith('#')) throw new ConfigError(`${where}: unexpected text after the quoted value: '${after}'`);
        return value;
      }
      if (c === '\\' && i + 1 < rest.length) {
        const next = rest[++i]!;
        value += ({ b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[next] ?? next;
        continue;
      }
      value += c;
    }
    throw new ConfigError(`${where}: the quoted value is not closed: add the closing ' on the same line`);
  }
  const match = /^([^\s#']+)\s*(#.*)?$/.exec(rest);
  if (!match) throw new ConfigError(`${where}: '${rest}' is not a value: quote it ('like this') if it holds spaces`);
  return match[1]!;
}

function parseFile(file: string, into: Map<string, ConfSetting>, depth: number, seen: string[], required: boolean): void {
  const path = resolve(file);
  if (depth > MAX_DEPTH) throw new ConfigError(`${path}: includes nest deeper than ${MAX_DEPTH} files (${seen.join(' → ')}): is there a loop?`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (!required) return;
    throw new ConfigError(`Cannot read the PostgreSQL configuration file '${path}': ${describeError(error)}`);
  }
  text.split(/\r?\n/).forEach((raw, index) => {
    const where = `${path}:${index + 1}`;
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const name = NAME.exec(line)?.[0];
    if (!name) throw new ConfigError(`${where}: '${line}' does not start with a setting name`);
    const rest = line.slice(name.length).trim().replace(/^=\s*/, '');
    if (!rest || rest.startsWith('#')) throw new ConfigError(`${where}: '${name}' has no value: write it as ${name} = value`);
    const value = readValue(rest, where);
    const lower = name.toLowerCase();
    const relative = (target: string) => (isAbsolute(target) ? target : join(dirname(path), target));
    if (lower === 'include' || lower === 'include_if_exists') {
      parseFile(relative(value), into, depth + 1, [...seen, path], lower === 'include');
      return;
    }
    if (lower === 'include_dir') {
      const dir = relative(value);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`${where}: include_dir '${value}' is not a directory (looked at ${dir})`);
      // As PostgreSQL does: the directory's *.conf files, not hidden ones, in name order.
      for (const entry of readdirSync(dir).filter((f) => f.endsWith('.conf') && !f.startsWith('.')).sort()) parseFile(join(dir, entry), into, depth + 1, [...seen, path], true);
      return;
    }
    into.delete(lower); // a later line overrides, and is listed where it stands
    into.set(lower, { name: lower, value, file: path, line: index + 1 });
  });
}

/** Every setting of a postgresql.conf (with its includes), the last occurrence of each winning. */
export function parsePostgresqlConf(file: string): Map<string, ConfSetting> {
  const settings = new Map<string, ConfSetting>();
  parseFile(file, settings, 0, [], true);
  return settings;
}

// Values as PostgreSQL reads them, shared with the engine that applies the settings.
export { parseBoolean, parseMemory, parseTime } from '../engines/postgres/index.ts';
