// What every command shares: the Command type, option parsing with the parser's messages in the
// house style, seeds as typed, and the early check that a JUnit file can be written.

import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, describeError } from '../errors.ts';
import { didYouMean } from '../schema.ts';
import { parseDuration } from '../units.ts';
import { ARCHIVE_MOUNT_KINDS, type ArchiveMountKind } from '../engines/postgres/index.ts';

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

/** The options that describe the user's backup pipeline, shared by validate and rehearse. */
export const PIPELINE_OPTIONS = {
  'archive-mount': { type: 'string', multiple: true },
  'archive-script': { type: 'string', multiple: true },
  'barman-conf': { type: 'string' },
  'barman-server': { type: 'string' },
} as const;

export const PIPELINE_HELP =
  '  --archive-mount PATH=KIND   what a local path your archive_command copies into is: nfs-sync (an NFS export with\n' +
  "                    'sync': data committed on close; the default), nfs-async (nothing committed until fsynced) or local\n" +
  "                    (the server's own disk). Repeatable\n" +
  '  --archive-script PATH=FILE  a script your archive_command or restore_command runs (PATH as the command names it,\n' +
  '                    FILE your copy): installed read-only on every server and run as written. Repeatable\n' +
  '  --barman-conf FILE, --barman-server FILE   your barman.conf and server file (backupTool barman)\n';

/** The backup pipeline's files and mounts from PIPELINE_OPTIONS' values; a UsageError names what is wrong. */
export function pipelineFiles(values: { 'archive-mount'?: string[] | undefined; 'archive-script'?: string[] | undefined; 'barman-conf'?: string | undefined; 'barman-server'?: string | undefined }): {
  archiveMounts?: Record<string, ArchiveMountKind>;
  archiveScripts?: Record<string, string>;
  barmanConf?: string;
  barmanServer?: string;
} {
  const pairs = (flag: string, list: string[] | undefined, example: string) =>
    (list ?? []).map((item) => {
      const at = item.indexOf('=');
      const [key, value] = at > 0 ? [item.slice(0, at), item.slice(at + 1)] : ['', ''];
      if (!key.startsWith('/') || !value) throw new UsageError(`--${flag} '${item}' is not PATH=${flag === 'archive-mount' ? 'KIND' : 'FILE'} with an absolute PATH, e.g. --${flag} ${example}`);
      return [key.replace(/(.)\/+$/, '$1'), value] as const;
    });
  const mounts = pairs('archive-mount', values['archive-mount'], '/mnt/server/archivedir=nfs-async');
  for (const [path, kind] of mounts) {
    if (!(ARCHIVE_MOUNT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--archive-mount ${path}=${kind}: '${kind}' is not a mount kind: use ${ARCHIVE_MOUNT_KINDS.join(', ')}`);
  }
  const scripts = pairs('archive-script', values['archive-script'], '/usr/local/bin/archive-wal.sh=./archive-wal.sh');
  return {
    ...(mounts.length ? { archiveMounts: Object.fromEntries(mounts) as Record<string, ArchiveMountKind> } : {}),
    ...(scripts.length ? { archiveScripts: Object.fromEntries(scripts) } : {}),
    ...(values['barman-conf'] ? { barmanConf: values['barman-conf'] } : {}),
    ...(values['barman-server'] ? { barmanServer: values['barman-server'] } : {}),
  };
}

/** A budget option's duration ('90s', '5m'), in ms; a UsageError names the option. */
export function parseBudget(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`${option} must be a duration like '90s' or '5m', got '${text}'`);
  return ms;
}
