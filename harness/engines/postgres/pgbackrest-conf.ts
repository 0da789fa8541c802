// Reads a user's pgbackrest.conf (validate's rules and prove-backup's restore both read it): INI sections ([global], [global:archive-push], a stanza such as
// [main], or [main:backup]), `key=value` lines (a key may repeat, for options that take several
// values), `#` comments. Every value keeps its line, so a message can name it.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, describeError } from '../../errors.ts';

export interface IniValue {
  values: string[];
  line: number;
}

export interface PgBackRestConf {
  file: string;
  /** Section name → key → its values (in order) and the line of the last one. */
  sections: Map<string, Map<string, IniValue>>;
}

export function parsePgBackRestConf(file: string): PgBackRestConf {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the pgBackRest configuration file '${path}': ${describeError(error)}`);
  }
  const sections = new Map<string, Map<string, IniValue>>();
  let current: Map<string, IniValue> | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const where = `${path}:${index + 1}`;
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const section = /^\[([A-Za-z0-9_.-]+(?::[a-z-]+)?)\]$/.exec(line);
    if (section) {
      current = sections.get(section[1]!) ?? new Map();
      sections.set(section[1]!, current);
      return;
    }
    if (line.startsWith('[')) throw new ConfigError(`${where}: '${line}' is not a section header: write [global], [global:archive-push] or [<stanza>]`);
    const pair = /^([a-z0-9][a-z0-9-]*)\s*=\s*(.*)$/.exec(line);
    if (!pair) throw new ConfigError(`${where}: '${line}' is not an option: write key=value (lower case key)`);
    if (!current) throw new ConfigError(`${where}: option '${pair[1]}' comes before any section: put it under [global] or a stanza`);
    const existing = current.get(pair[1]!);
    current.set(pair[1]!, { values: [...(existing?.values ?? []), pair[2]!.trim()], line: index + 1 });
  });
  return { file: path, sections };
}

/**
 * The value an option has for a command of a stanza, as pgBackRest resolves it: the most specific
 * section wins ([stanza:command], [stanza], [global:command], [global]).
 */
export function pgBackRestOption(conf: PgBackRestConf, key: string, stanza: string, command?: string): (IniValue & { section: string }) | undefined {
  const order = [...(command ? [`${stanza}:${command}`] : []), stanza, ...(command ? [`global:${command}`] : []), 'global'];
  for (const section of order) {
    const value = conf.sections.get(section)?.get(key);
    if (value) return { ...value, section };
  }
  return undefined;
}
