// The user's own checks (`--check FILE`): queries or commands of theirs that must each say "true" on the
// restored copy. Parsing keeps every check's line so a failure can point at it; judging turns a reply into a verdict.

import { ConfigError } from '../errors.ts';

/** One SQL check of a `--check` file: a query that must return one row holding one boolean true. */
export interface UserCheck {
  /** 1-based position in the file. */
  index: number;
  /** 1-based line where the query starts (its first character that is not blank or comment). */
  line: number;
  /** The database to run it in, from the last `-- db: NAME` line before it (default `postgres`). */
  database: string;
  /** The query, trimmed, without its trailing ';'. */
  text: string;
}

/** What a check of either form came to, and in words why (e.g. 'returned 3 rows'). */
export interface CheckVerdict {
  ok: boolean;
  why: string;
}

/** A query's result as pg gives it with rowMode 'array', or the error it failed with. */
export type SqlOutcome = { fields: Array<{ name: string; dataTypeID: number; /** The type's name when the OID is not known (psql's \\gdesc says names). */ typeName?: string }>; rows: unknown[][] } | { error: string };

const DEFAULT_DATABASE = 'postgres';
const BOOLOID = 16;
const NO_QUERY_HINT = 'write one query per check, each ending in \';\', e.g. SELECT count(*) > 0 FROM orders;';

// A database name as one would type it in a connection string; quoting and odd characters are refused
// rather than guessed at, since the name goes to the server as is.
const DATABASE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.$-]{0,62}$/;
const DB_LINE = /^--\s*db\s*:(.*)$/i;

const isIdentifierChar = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(ch);
const isBlank = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v';

/**
 * Splits a PostgreSQL check file into its queries. A ';' ends a query only outside quoted strings
 * (standard and E'' strings), quoted identifiers, dollar quotes and comments, the places psql would
 * not split either. A last query without ';' is kept. Throws a ConfigError naming the file and line
 * for a file with no query, a quote or comment that is never closed, or a bad `-- db:` line.
 */
export function parseSqlChecks(text: string, file: string): UserCheck[] {
  const checks: UserCheck[] = [];
  let database = DEFAULT_DATABASE;
  let line = 1;
  // The query being read: where its first real character is, and on which line.
  let start = -1;
  let startLine = 0;
  let i = 0;
  const n = text.length;

  const unterminated = (what: string, from: number, fix: string): ConfigError =>
    new ConfigError(`${file}:${from}: the ${what} that starts on this line is never closed: ${fix}`);

  const finish = (end: number): void => {
    if (start >= 0) {
      checks.push({ index: checks.length + 1, line: startLine, database, text: text.slice(start, end).trim() });
    }
    start = -1;
  };
  const begin = (): void => {
    if (start < 0) {
      start = i;
      startLine = line;
    }
  };

  while (i < n) {
    const ch = text[i]!;
    const next = text[i + 1];
    if (ch === '\n') {
      line++;
      i++;
    } else if (isBlank(ch)) {
      i++;
    } else if (ch === ';') {
      finish(i);
      i++;
    } else if (ch === '-' && next === '-') {
      const eol = text.indexOf('\n', i);
      const comment = text.slice(i, eol < 0 ? n : eol).trimEnd();
      const lineStart = text.lastIndexOf('\n', i - 1) + 1;
      const db = DB_LINE.exec(comment);
      // Only a comment alone on its line chooses the database; one after a query's text is just a comment.
      if (db && text.slice(lineStart, i).trim() === '') {
        const name = db[1]!.trim();
        if (start >= 0) {
          throw new ConfigError(`${file}:${line}: '${comment}' comes inside the query that starts on line ${startLine}: end that query with ';' before choosing another database`);
        }
        if (!name) throw new ConfigError(`${file}:${line}: '${comment}' names no database: write e.g. -- db: orders`);
        if (!DATABASE_NAME.test(name)) {
          throw new ConfigError(`${file}:${line}: '${name}' is not a database name faultline accepts: use letters, digits, '_', '.', '$' or '-' (at most 63), e.g. -- db: orders`);
        }
        database = name;
      }
      i = eol < 0 ? n : eol;
    } else if (ch === '/' && next === '*') {
      // Block comments nest in PostgreSQL, unlike in C.
      const from = line;
      let depth = 1;
      i += 2;
      while (depth > 0) {
        if (i >= n) throw unterminated('/* comment', from, "close it with '*/' (comments nest, so every '/*' needs its own '*/')");
        if (text[i] === '\n') line++;
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else {
          i++;
        }
      }
    } else if (ch === "'") {
      begin();
      // E'…' (not part of a longer word such as "name'") lets a backslash escape the next character.
      const escapes = i > 0 && (text[i - 1] === 'E' || text[i - 1] === 'e') && !isIdentifierChar(text[i - 2]);
      const from = line;
      i++;
      for (;;) {
        if (i >= n) throw unterminated('quoted string', from, "close it with ' (write '' for a quote inside it)");
        const c = text[i]!;
        if (c === '\n') line++;
        if (escapes && c === '\\') {
          if (text[i + 1] === '\n') line++;
          i += 2;
        } else if (c === "'") {
          if (text[i + 1] === "'") i += 2;
          else {
            i++;
            break;
          }
        } else {
          i++;
        }
      }
    } else if (ch === '"') {
      begin();
      const from = line;
      i++;
      for (;;) {
        if (i >= n) throw unterminated('quoted identifier', from, 'close it with " (write "" for a quote inside it)');
        const c = text[i]!;
        if (c === '\n') line++;
        if (c === '"') {
          if (text[i + 1] === '"') i += 2;
          else {
            i++;
            break;
          }
        } else {
          i++;
        }
      }
    } else if (ch === '$' && !isIdentifierChar(text[i - 1])) {
      begin();
      // $tag$ opens a dollar quote only when the tag is a word not starting with a digit ($1 is a parameter).
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(text.slice(i, i + 130));
      if (!tag) {
        i++;
        continue;
      }
      const delimiter = tag[0];
      const from = line;
      const close = text.indexOf(delimiter, i + delimiter.length);
      if (close < 0) throw unterminated(`dollar-quoted string ${delimiter}`, from, `close it with ${delimiter}`);
      for (let k = i; k < close; k++) if (text[k] === '\n') line++;
      i = close + delimiter.length;
    } else {
      begin();
      i++;
    }
  }
  finish(n);
  if (checks.length === 0) throw new ConfigError(`${file} holds no query: ${NO_QUERY_HINT}`);
  return checks;
}

const typeNames: Record<number, string> = {
  16: 'boolean',
  18: 'char',
  19: 'name',
  20: 'bigint',
  21: 'smallint',
  23: 'integer',
  25: 'text',
  26: 'oid',
  114: 'json',
  700: 'real',
  701: 'double precision',
  1042: 'character',
  1043: 'varchar',
  1082: 'date',
  1083: 'time',
  1114: 'timestamp',
  1184: 'timestamptz',
  1700: 'numeric',
  2950: 'uuid',
  3802: 'jsonb',
};

/** A value as a short quoted text for a verdict: strings in quotes, long ones cut. */
export function show(value: unknown): string {
  let shown: string;
  if (typeof value === 'string') shown = `'${value}'`;
  else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') shown = String(value);
  else if (value instanceof Date) shown = `'${value.toISOString()}'`;
  else if (Buffer.isBuffer(value)) shown = `'${value.toString('utf8')}'`;
  else {
    try {
      shown = JSON.stringify(value) ?? String(value);
    } catch {
      shown = String(value);
    }
  }
  return shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
}

export const plural = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`;

/**
 * Judges one SQL check: true only for exactly one row of exactly one boolean column holding true.
 * No row, several rows or columns, null, a value of another type and an error are all false, each
 * with a why that says what came back.
 */
export function judgeSqlCheck(outcome: SqlOutcome): CheckVerdict {
  if ('error' in outcome) return { ok: false, why: `failed: ${outcome.error}` };
  const { fields, rows } = outcome;
  if (rows.length === 0) return { ok: false, why: 'returned no row' };
  if (rows.length > 1) return { ok: false, why: `returned ${plural(rows.length, 'row', 'rows')}` };
  if (fields.length === 0) return { ok: false, why: 'returned no column' };
  if (fields.length > 1) return { ok: false, why: `returned ${plural(fields.length, 'column', 'columns')}` };
  const value = rows[0]![0];
  if (value === null || value === undefined) return { ok: false, why: 'returned null' };
  const type = fields[0]!.dataTypeID;
  if (type !== BOOLOID) {
    return { ok: false, why: `returned ${show(value)} (${fields[0]!.typeName ?? typeNames[type] ?? `type OID ${type}`}), not a boolean` };
  }
  // pg parses booleans to true/false; 't'/'f' are what arrives when type parsing is turned off.
  if (value === true || value === 't') return { ok: true, why: 'returned true' };
  if (value === false || value === 'f') return { ok: false, why: 'returned false' };
  return { ok: false, why: `returned ${show(value)} (boolean), not true or false` };
}
