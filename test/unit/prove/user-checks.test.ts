// The user's own checks: where a check file splits into queries or commands, which database and line
// each gets, how a bad file is refused, and which replies count as "true".
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../harness/errors.ts';
import { judgeSqlCheck, parseSqlChecks, type SqlOutcome } from '../../../harness/prove/user-checks.ts';
import { judgeRedisReply, parseRedisChecks, redisError } from '../../../harness/prove/redis-checks.ts';

const texts = (source: string): string[] => parseSqlChecks(source, 'checks.sql').map((check) => check.text);

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseSqlChecks', () => {
  it('splits on semicolons and trims each query without its semicolon', () => {
    expect(texts('SELECT true;\n  SELECT count(*) > 0 FROM orders ;\n')).toEqual(['SELECT true', 'SELECT count(*) > 0 FROM orders']);
  });

  it('keeps a last query that has no semicolon', () => {
    expect(texts('SELECT true;\nSELECT false')).toEqual(['SELECT true', 'SELECT false']);
  });

  it('does not split on a semicolon inside a single-quoted string, with doubled quotes', () => {
    expect(texts("SELECT 'a;b''c;' = 'x';SELECT 2;")).toEqual(["SELECT 'a;b''c;' = 'x'", 'SELECT 2']);
  });

  it("does not split on a semicolon after a backslash-escaped quote in an E'' string", () => {
    expect(texts("SELECT E'it\\'s; fine' <> '';SELECT 2;")).toEqual(["SELECT E'it\\'s; fine' <> ''", 'SELECT 2']);
  });

  it('treats a backslash in a standard string as an ordinary character', () => {
    // 'a\' is a complete string: the ';' after it ends the query.
    expect(texts("SELECT 'a\\' = 'b';SELECT 2;")).toEqual(["SELECT 'a\\' = 'b'", 'SELECT 2']);
  });

  it('does not split inside a double-quoted identifier', () => {
    expect(texts('SELECT "we;ird""col" FROM t;SELECT 2')).toEqual(['SELECT "we;ird""col" FROM t', 'SELECT 2']);
  });

  it('does not split inside $$ and $tag$ dollar quotes, and a different tag does not close one', () => {
    const source = 'SELECT $$a;b$$ = $x$c;$$;d$x$;\nDO $body$ BEGIN PERFORM 1; END $body$;';
    expect(texts(source)).toEqual(['SELECT $$a;b$$ = $x$c;$$;d$x$', 'DO $body$ BEGIN PERFORM 1; END $body$']);
  });

  it('takes $1 and a $ inside a word as no dollar quote', () => {
    expect(texts('SELECT a$b$ FROM t WHERE x = $1;SELECT 2;')).toEqual(['SELECT a$b$ FROM t WHERE x = $1', 'SELECT 2']);
  });

  it('does not split inside line comments or nested block comments', () => {
    const source = 'SELECT 1 -- not; here\n = 1; /* a; /* nested; */ still; */ SELECT 2;';
    expect(texts(source)).toEqual(['SELECT 1 -- not; here\n = 1', 'SELECT 2']);
  });

  it('takes a fragment of only blanks and comments as no query', () => {
    expect(texts('SELECT 1;\n-- trailing note;\n /* x */ ;;\n')).toEqual(['SELECT 1']);
  });

  it('numbers checks from 1 and gives the line where each query starts, after leading comments', () => {
    const checks = parseSqlChecks("-- first check\n\nSELECT\n  'multi\nline' = 'x';\n/* c\n */ SELECT 2;", 'checks.sql');
    expect(checks.map(({ index, line }) => ({ index, line }))).toEqual([
      { index: 1, line: 3 },
      { index: 2, line: 7 },
    ]);
  });

  it('counts lines inside dollar quotes and E strings', () => {
    const checks = parseSqlChecks("SELECT $$\n\n$$ <> '';\nSELECT E'\\\n';\nSELECT 3;", 'checks.sql');
    expect(checks.map((check) => check.line)).toEqual([1, 4, 6]);
  });

  it('runs queries in postgres until a -- db: line chooses another database for those after it', () => {
    const source = 'SELECT 1;\n  -- DB:orders\nSELECT 2;\nSELECT 3;\n--db :  billing_2024 \nSELECT 4;';
    expect(parseSqlChecks(source, 'checks.sql').map((check) => check.database)).toEqual(['postgres', 'orders', 'orders', 'billing_2024']);
  });

  it('takes a -- db: comment after query text on the same line as an ordinary comment', () => {
    expect(parseSqlChecks('SELECT 1 -- db: other\n;SELECT 2;', 'checks.sql').map((check) => check.database)).toEqual(['postgres', 'postgres']);
  });

  it('refuses a file with no query, naming the file and showing an example', () => {
    const error = configError(() => parseSqlChecks('-- nothing yet\n/* */ ;\n', 'mine.sql'));
    expect(error.message).toBe("mine.sql holds no query: write one query per check, each ending in ';', e.g. SELECT count(*) > 0 FROM orders;");
    expect(error.exitCode).toBe(2);
  });

  it.each([
    ["SELECT 1;\nSELECT 'open;\nmore", 2, 'quoted string'],
    ['SELECT 1;\n\nSELECT "col', 3, 'quoted identifier'],
    ['SELECT $f$ body;\n', 1, 'dollar-quoted string $f$'],
    ['SELECT 1;\n/* a /* b */ still open\n', 2, '/* comment'],
    ["SELECT E'\\';\n", 1, 'quoted string'],
  ])('refuses an unclosed quote or comment, naming the line it starts on: %j', (source, line, what) => {
    const error = configError(() => parseSqlChecks(source, 'mine.sql'));
    expect(error.message).toContain(`mine.sql:${line}: the ${what} that starts on this line is never closed`);
  });

  it('refuses a -- db: line with no name', () => {
    expect(configError(() => parseSqlChecks('-- db:\nSELECT 1;', 'mine.sql')).message).toMatch(/^mine\.sql:1: '-- db:' names no database/);
  });

  it('refuses a -- db: line with an invalid name, quoting it', () => {
    expect(configError(() => parseSqlChecks('SELECT 1;\n-- db: two words\nSELECT 1;', 'mine.sql')).message).toMatch(/^mine\.sql:2: 'two words' is not a database name/);
  });

  it('refuses a -- db: line inside an unfinished query, naming where the query starts', () => {
    const error = configError(() => parseSqlChecks('SELECT 1\n-- db: orders\nSELECT 2;', 'mine.sql'));
    expect(error.message).toMatch(/^mine\.sql:2: .*inside the query that starts on line 1: end that query with ';'/);
  });

  const safeQuery = fc
    .tuple(
      fc.constantFrom('SELECT', 'select', 'WITH x AS (SELECT 1) SELECT'),
      fc.array(
        fc.oneof(
          fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/),
          fc.constantFrom("'a;b'", "'it''s;'", "E'x\\';y'", '"c;ol"', '$$;$$', '$t$ ; $$ ; $t$', '/* ; */', '(1 + 2)', '>', '='),
        ),
        { minLength: 1, maxLength: 6 },
      ),
    )
    .map(([head, rest]) => [head, ...rest].join(' '));
  const filler = fc.constantFrom('', ' ', '\n', '\n-- note; here\n', ' /* block; /* nested; */ */ ', '\n\n\t');

  it('gives back any queries joined with semicolons and comments between them (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(filler, safeQuery, filler), { minLength: 1, maxLength: 8 }), fc.boolean(), (parts, lastSemicolon) => {
        const source = parts.map(([before, query, after], k) => `${before}${query}${k < parts.length - 1 || lastSemicolon ? ';' : ''}${after}`).join('');
        const checks = parseSqlChecks(source, 'p.sql');
        expect(checks.map((check) => check.text)).toEqual(parts.map(([, query, after], k) => (k === parts.length - 1 && !lastSemicolon ? `${query}${after}`.trim() : query)));
        // Each query's line is the line of its first character.
        let offset = 0;
        parts.forEach(([before, query, after], k) => {
          offset += before.length;
          expect(checks[k]!.line).toBe(source.slice(0, offset).split('\n').length);
          offset += query.length + (k < parts.length - 1 || lastSemicolon ? 1 : 0) + after.length;
        });
      }),
    );
  });
});

describe('judgeSqlCheck', () => {
  const bool = [{ name: 'ok', dataTypeID: 16 }];
  const cases: Array<[string, SqlOutcome, boolean, string]> = [
    ['one true boolean', { fields: bool, rows: [[true]] }, true, 'returned true'],
    ['one false boolean', { fields: bool, rows: [[false]] }, false, 'returned false'],
    ['a boolean null', { fields: bool, rows: [[null]] }, false, 'returned null'],
    ['no row', { fields: bool, rows: [] }, false, 'returned no row'],
    ['three rows of true', { fields: bool, rows: [[true], [true], [true]] }, false, 'returned 3 rows'],
    ['two columns', { fields: [...bool, { name: 'b', dataTypeID: 16 }], rows: [[true, true]] }, false, 'returned 2 columns'],
    ['no column', { fields: [], rows: [[]] }, false, 'returned no column'],
    ['text', { fields: [{ name: 'x', dataTypeID: 25 }], rows: [['yes']] }, false, "returned 'yes' (text), not a boolean"],
    ['an integer 1', { fields: [{ name: 'x', dataTypeID: 23 }], rows: [[1]] }, false, 'returned 1 (integer), not a boolean'],
    ['a bigint as text', { fields: [{ name: 'x', dataTypeID: 20 }], rows: [['5']] }, false, "returned '5' (bigint), not a boolean"],
    ['an unknown type', { fields: [{ name: 'x', dataTypeID: 99999 }], rows: [['v']] }, false, "returned 'v' (type OID 99999), not a boolean"],
    ['unparsed t', { fields: bool, rows: [['t']] }, true, 'returned true'],
    ['an error', { error: 'relation "orders" does not exist' }, false, 'failed: relation "orders" does not exist'],
  ];
  it.each(cases)('judges %s', (_name, outcome, ok, why) => {
    expect(judgeSqlCheck(outcome)).toEqual({ ok, why });
  });
});

describe('parseRedisChecks', () => {
  it('reads one command per line, skipping blank and # lines, with line numbers', () => {
    const checks = parseRedisChecks('# mine\n\nEXISTS orders:1\n  # indented comment\n  SISMEMBER  users alice \n', 'c.redis');
    expect(checks).toEqual([
      { index: 1, line: 3, args: ['EXISTS', 'orders:1'], text: 'EXISTS orders:1' },
      { index: 2, line: 5, args: ['SISMEMBER', 'users', 'alice'], text: 'SISMEMBER  users alice' },
    ]);
  });

  it('groups quoted arguments, with backslash escapes in double quotes only', () => {
    const [check] = parseRedisChecks('HEXISTS "user map" \'it\\\'s a\\n\' "tab\\there\\"\\x41" ""\r\n', 'c.redis');
    expect(check!.args).toEqual(['HEXISTS', 'user map', "it's a\\n", 'tab\there"A', '']);
  });

  it('refuses an unclosed quote, naming the file and line', () => {
    expect(configError(() => parseRedisChecks('PING\nGET "open\n', 'c.redis')).message).toMatch(/^c\.redis:2: the argument quoted with " is never closed/);
  });

  it('refuses text stuck to a closing quote, as redis-cli does', () => {
    expect(configError(() => parseRedisChecks('GET "a"b', 'c.redis')).message).toMatch(/^c\.redis:1: 'GET "a"b' has text right after a closing "/);
  });

  it('refuses a file with no command', () => {
    expect(configError(() => parseRedisChecks('# only\n\n', 'c.redis')).message).toBe('c.redis holds no command: write one command per line, e.g. EXISTS orders:1');
  });
});

describe('judgeRedisReply', () => {
  const cases: Array<[string, unknown, boolean, string]> = [
    ['integer 1', 1, true, 'returned 1'],
    ['integer 3', 3, true, 'returned 3'],
    ['integer -1', -1, true, 'returned -1'],
    ['integer 0', 0, false, 'returned 0'],
    ['bigint', 7n, true, 'returned 7'],
    ['OK', 'OK', true, "returned 'OK'"],
    ['string 1', '1', true, "returned '1'"],
    ['TRUE', 'TRUE', true, "returned 'TRUE'"],
    ['buffer ok', Buffer.from('ok'), true, "returned 'ok'"],
    ['string 0', '0', false, "returned '0'"],
    ['other string', 'PONG', false, "returned 'PONG'"],
    ['nil', null, false, 'returned nil'],
    ['empty array', [], false, 'returned an empty array'],
    ['array', ['a', 'b'], false, 'returned an array of 2 elements'],
    ['non-integer', 1.5, false, 'returned 1.5, not an integer'],
    ['error', redisError('WRONGTYPE Operation against a key'), false, 'failed: WRONGTYPE Operation against a key'],
    ['thrown error', new Error('Connection is closed.'), false, 'failed: Connection is closed.'],
  ];
  it.each(cases)('judges %s', (_name, reply, ok, why) => {
    expect(judgeRedisReply(reply)).toEqual({ ok, why });
  });

  it('does not take a reply shaped like { error } for an error', () => {
    expect(judgeRedisReply({ error: 'x' })).toEqual({ ok: false, why: 'returned {"error":"x"}, not an integer or string' });
  });
});
