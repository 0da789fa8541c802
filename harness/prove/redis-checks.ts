// The user's own Redis checks from `--check FILE`: one command per line, as redis-cli splits it,
// each of whose replies must mean yes (a non-zero integer, OK, 1 or true).

import { ConfigError, describeError } from '../errors.ts';
import { plural, show, type CheckVerdict } from './user-checks.ts';

/** One Redis check of a `--check` file: a command whose reply must mean yes. */
export interface RedisCheck {
  index: number;
  /** 1-based line of the command. */
  line: number;
  /** The command and its arguments, quotes removed. */
  args: string[];
  /** The line as written, trimmed. */
  text: string;
}

const doubleQuoteEscapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07', '\\': '\\', '"': '"' };

/** Splits one line as redis-cli does: blanks separate arguments, quotes group them and must end an argument. */
function splitRedisArgs(raw: string, where: string): string[] {
  const args: string[] = [];
  let i = 0;
  const n = raw.length;
  while (i < n) {
    while (i < n && /\s/.test(raw[i]!)) i++;
    if (i >= n) break;
    let arg = '';
    const quote = raw[i] === '"' || raw[i] === "'" ? raw[i]! : undefined;
    if (quote) {
      i++;
      for (;;) {
        if (i >= n) throw new ConfigError(`${where}: the argument quoted with ${quote} is never closed: close it with ${quote}`);
        const c = raw[i]!;
        if (c === quote) {
          i++;
          break;
        }
        if (c === '\\' && i + 1 < n) {
          const e = raw[i + 1]!;
          if (quote === "'") {
            // In single quotes only \' is an escape, as in redis-cli.
            arg += e === "'" ? "'" : `\\${e}`;
            i += 2;
          } else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 2, i + 4))) {
            arg += String.fromCharCode(Number.parseInt(raw.slice(i + 2, i + 4), 16));
            i += 4;
          } else {
            arg += doubleQuoteEscapes[e] ?? e;
            i += 2;
          }
          continue;
        }
        arg += c;
        i++;
      }
      if (i < n && !/\s/.test(raw[i]!)) {
        throw new ConfigError(`${where}: '${raw.trim()}' has text right after a closing ${quote}: put a space after the quoted argument`);
      }
    } else {
      while (i < n && !/\s/.test(raw[i]!)) {
        const c = raw[i]!;
        if (c === '"' || c === "'") {
          throw new ConfigError(`${where}: '${raw.trim()}' has a ${c} inside an argument: quote the whole argument, e.g. "a b"`);
        }
        arg += c;
        i++;
      }
    }
    args.push(arg);
  }
  return args;
}

/**
 * Reads a Redis check file: one command per line, blank lines and `#` lines skipped, arguments
 * split on blanks with "double" (backslash escapes) and 'single' quotes. Throws a ConfigError naming
 * the file and line for an unclosed quote, or for a file with no command.
 */
export function parseRedisChecks(text: string, file: string): RedisCheck[] {
  const checks: RedisCheck[] = [];
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const args = splitRedisArgs(raw, `${file}:${index + 1}`);
    checks.push({ index: checks.length + 1, line: index + 1, args, text: trimmed });
  });
  if (checks.length === 0) throw new ConfigError(`${file} holds no command: write one command per line, e.g. EXISTS orders:1`);
  return checks;
}

/**
 * An error reply, wrapped so that judgeRedisReply cannot mistake a real reply shaped like
 * `{ error: ... }` for it: only instances made by redisError() count as errors.
 */
export class RedisErrorReply {
  readonly error: string;

  constructor(message: string) {
    this.error = message;
  }
}

/** Marks a command's failure (an error reply, a lost connection) for judgeRedisReply. */
export function redisError(message: string): RedisErrorReply {
  return new RedisErrorReply(message);
}

/**
 * Judges one Redis check. True: an integer reply other than 0, or a string reply 'OK', '1' or
 * 'true' (any case). False for everything else (nil, 0, arrays, other strings, errors), with a why
 * that says what came back.
 */
export function judgeRedisReply(reply: unknown): CheckVerdict {
  if (reply instanceof RedisErrorReply) return { ok: false, why: `failed: ${reply.error}` };
  // A client may hand back its own Error object in place of a reply (ioredis does in pipelines).
  if (reply instanceof Error) return { ok: false, why: `failed: ${describeError(reply)}` };
  if (reply === null || reply === undefined) return { ok: false, why: 'returned nil' };
  if (typeof reply === 'number') {
    if (!Number.isInteger(reply)) return { ok: false, why: `returned ${reply}, not an integer` };
    return { ok: reply !== 0, why: `returned ${reply}` };
  }
  if (typeof reply === 'bigint') return { ok: reply !== 0n, why: `returned ${reply}` };
  if (typeof reply === 'string' || Buffer.isBuffer(reply)) {
    const value = typeof reply === 'string' ? reply : reply.toString('utf8');
    return { ok: /^(ok|1|true)$/i.test(value), why: `returned ${show(value)}` };
  }
  if (Array.isArray(reply)) {
    return { ok: false, why: reply.length === 0 ? 'returned an empty array' : `returned an array of ${plural(reply.length, 'element', 'elements')}` };
  }
  return { ok: false, why: `returned ${show(reply)}, not an integer or string` };
}
