// A reply as `redis-cli --no-raw` prints it, back to a value judgeRedisReply understands: the typed
// form ((integer) 1, (nil), (error) …, "quoted" strings, numbered arrays) keeps the reply's type.

import { redisError } from '../../../prove/redis-checks.ts';

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07', '\\': '\\', '"': '"' };

/** A string as redis-cli quotes it (sdscatrepr: backslash escapes and \xHH). */
function unquote(text: string): string {
  let out = '';
  for (let i = 1; i < text.length - 1; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = text[i + 1] ?? '';
    if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      out += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      out += ESCAPES[e] ?? e;
      i += 1;
    }
  }
  return out;
}

/**
 * One command's output and exit code from `redis-cli --no-raw`. A failure to run or connect, and
 * an error reply, come back as redisError; an array as an array of its top-level elements' lines.
 */
export function parseCliReply(exitCode: number, stdout: string, stderr: string): unknown {
  const text = stdout.replace(/\r?\n$/, '');
  const error = /^\(error\) (.*)$/s.exec(text);
  if (error) return redisError(error[1]!.trim());
  if (exitCode !== 0 && !text) return redisError(stderr.trim() || `redis-cli exited ${exitCode}`);
  if (text === '(nil)') return null;
  if (text === '(empty array)' || text === '(empty list or set)') return [];
  const integer = /^\(integer\) (-?\d+)$/.exec(text);
  if (integer) return Number(integer[1]);
  const first = /^\s*\d+\) /.exec(text);
  // redis-cli pads the indexes to one width; a nested array's lines are indented further.
  if (first) return text.split('\n').filter((l) => /^\s*\d+\) /.exec(l)?.[0].length === first[0].length);
  if (/^"(?:[^"\\]|\\.)*"$/s.test(text)) return unquote(text);
  // A status reply (OK, PONG) is printed as it is.
  return text;
}
