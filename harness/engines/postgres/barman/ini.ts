// Barman's configuration files as Python's ConfigParser reads them: `[section]` headers, `key = value`
// or `key: value` lines (keys without regard to case), `;` and `#` comment lines, indented lines
// continuing the value before them. Pure: the mapping of a user's files is unit-tested on text.

export interface IniOption {
  key: string;
  value: string;
  /** 1-based line of the key in the text it came from. */
  line: number;
}

export interface IniSection {
  name: string;
  options: IniOption[];
}

/** The sections of an ini text, in order; options before any header are an error (ConfigParser's too). */
export function parseIni(text: string, what: string): IniSection[] {
  const sections: IniSection[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const number = index + 1;
    if (/^\s*([;#].*)?$/.test(raw)) continue;
    const last = sections.at(-1)?.options.at(-1);
    if (/^\s/.test(raw) && last) {
      last.value = `${last.value}\n${raw.trim()}`;
      continue;
    }
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(raw);
    if (header) {
      sections.push({ name: header[1]!.trim(), options: [] });
      continue;
    }
    const option = /^\s*([^=:\s][^=:]*?)\s*[=:]\s*(.*?)\s*$/.exec(raw);
    if (!option) throw new Error(`${what} line ${number} is neither a [section], an option (key = value) nor a comment: ${JSON.stringify(raw)}`);
    const section = sections.at(-1);
    if (!section) throw new Error(`${what} line ${number} sets '${option[1]}' before any [section] header`);
    section.options.push({ key: option[1]!.toLowerCase(), value: option[2]!, line: number });
  }
  return sections;
}

/** One section as barman.conf lines (values with newlines written as continuation lines). */
export function renderSection(name: string, options: ReadonlyArray<readonly [string, string]>): string {
  return [`[${name}]`, ...options.map(([key, value]) => `${key} = ${value.replace(/\n/g, '\n    ')}`)].join('\n');
}
