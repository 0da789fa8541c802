// synchronous_standby_names as the server reads it (syncrep_gram.y): `FIRST n (a, b)`,
// `ANY n (a, b)`, `n (a, b)` (FIRST), or a plain list `a, b` (FIRST 1); names compared without
// regard to case, double quotes allowed, `*` matching any standby.

export interface StandbyNames {
  method: 'first' | 'any';
  count: number;
  /** As written, quotes removed; '*' for the wildcard. */
  names: string[];
}

/** The parsed setting, or undefined when it is empty (no synchronous standby). */
export function parseStandbyNames(value: string): StandbyNames | undefined {
  const text = value.trim();
  if (!text) return undefined;
  const counted = /^(?:(first|any)\s+)?(\d+)\s*\((.*)\)$/is.exec(text);
  if (counted) {
    return { method: counted[1]?.toLowerCase() === 'any' ? 'any' : 'first', count: Number(counted[2]), names: splitNames(counted[3]!).map((n) => n.name) };
  }
  return { method: 'first', count: 1, names: splitNames(text).map((n) => n.name) };
}

/** The names written without double quotes, which PostgreSQL reads as identifiers ('pg-replica' is a syntax error). */
export function bareStandbyNames(value: string): string[] {
  const text = value.trim();
  const list = /^(?:(?:first|any)\s+)?\d+\s*\((.*)\)$/is.exec(text)?.[1] ?? text;
  return splitNames(list).filter((n) => !n.quoted).map((n) => n.name);
}

function splitNames(list: string): Array<{ name: string; quoted: boolean }> {
  const names: Array<{ name: string; quoted: boolean }> = [];
  let current = '';
  let quoted = false;
  let sawQuote = false;
  const end = () => {
    const name = current.trim();
    if (name) names.push({ name, quoted: sawQuote });
    current = '';
    sawQuote = false;
  };
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (c === '"') {
      sawQuote = true;
      if (quoted && list[i + 1] === '"') {
        current += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === ',' && !quoted) {
      end();
    } else current += c;
  }
  end();
  return names;
}


/** The last value a list of postgresql.conf lines gives `name` (undefined when none does). */
function lastSetting(lines: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (const line of lines) {
    const match = new RegExp(`^\\s*${name}\\s*=\\s*'((?:[^']|'')*)'`, 'i').exec(line);
    if (match) value = match[1]!.replace(/''/g, "'");
  }
  return value;
}

/**
 * Whether every commit waits for the standby that connects as `applicationName`, by the settings the
 * servers run with (faultline's, then the user's `lines`): synchronous_standby_names names it and its
 * count needs every name ('*' or a quorum may be met without it), and synchronous_commit waits.
 */
export function commitsWaitFor(applicationName: string, settings: { synchronousStandbyNames: string; synchronousCommit: string; lines: readonly string[] }): boolean {
  const lines = [`synchronous_standby_names = '${settings.synchronousStandbyNames.replace(/'/g, "''")}'`, `synchronous_commit = '${settings.synchronousCommit}'`, ...settings.lines];
  const standbys = parseStandbyNames(lastSetting(lines, 'synchronous_standby_names') ?? '');
  const commit = (lastSetting(lines, 'synchronous_commit') ?? 'on').toLowerCase();
  const name = applicationName.toLowerCase();
  return standbys !== undefined && !['off', 'local'].includes(commit) && standbys.names.some((n) => n.toLowerCase() === name) && standbys.count >= standbys.names.length;
}
