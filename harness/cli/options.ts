// What every command shares: the Command type, option parsing with the parser's messages in the
// house style, seeds as typed, and the early check that a JUnit file can be written.

import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, describeError } from '../errors.ts';
import { didYouMean } from '../schema.ts';

/** A command: its arguments in, its exit code out. */
export type Command = (args: string[]) => Promise<number>;

/** Rewrites what node:util's parseArgs says into the house style: what was wrong, and what to do. */
function usageError(error: unknown, command: string, known: string[]): UsageError {
  const e = error as { code?: string; message?: string };
  const options = known.length ? `'${command}' takes ${known.map((o) => `--${o}`).join(', ')}` : `'${command}' takes no options`;
  const option = /'(-[^']*)'/.exec(e.message ?? '')?.[1] ?? '';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const guess = didYouMean(option.replace(/^-+/, '').split('=')[0]!, known);
    return new UsageError(`Unknown option '${option}'${guess ? ` (did you mean '--${guess}'?)` : ''}: ${options}. See 'faultline ${command} --help'.`);
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return new UsageError(`Option '${option.split(' ')[0]}' needs a value, e.g. '--seed 7'. See 'faultline ${command} --help'.`);
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(`'${command}' takes no arguments besides its options: ${options}. See 'faultline ${command} --help'.`);
  return new UsageError(`${describeError(error)}. See 'faultline ${command} --help'.`);
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, command: string, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw usageError(error, command, Object.keys(options));
  }
}

/** A seed as typed: digits only ('', '0x10' and '1e3' are refused), a safe whole number. */
export function parseSeed(text: string): number {
  const seed = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(seed)) throw new UsageError(`--seed must be a whole number written in digits, 0 or more (e.g. --seed 7): got '${text}'`);
  return seed;
}

/** Checks, before any run, that the JUnit file can be written; its missing folders are made one by one. */
export function checkWritable(file: string): void {
  try {
    const dir = dirname(resolve(file));
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
    // One level at a time: a recursive mkdir can spin on file systems that refuse it (/proc).
    for (const d of missing) mkdirSync(d);
    accessSync(dir, constants.W_OK);
    if (existsSync(file)) accessSync(file, constants.W_OK);
  } catch (error) {
    throw new UsageError(`Cannot write the JUnit file '${file}': ${describeError(error)}. Pass a path in a folder you can write to.`);
  }
}
