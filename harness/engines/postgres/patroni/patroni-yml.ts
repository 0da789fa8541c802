// The user's patroni.yml, read for `faultline validate --patroni-conf`: the settings that decide what
// a failover costs (bootstrap.dcs: ttl, loop_wait, retry_timeout, maximum_lag_on_failover,
// synchronous_mode, synchronous_mode_strict, failsafe_mode, postgresql.use_pg_rewind), the server's
// parameters (bootstrap.dcs.postgresql.parameters, then the local postgresql.parameters, which win,
// as Patroni applies them) and the watchdog, each with the line it came from. What describes the
// user's hosts (scope, restapi, etcd3 hosts, data_dir, authentication) is not used: the drills run
// faultline's own. The file is only read.

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, describeError } from '../../../errors.ts';

/** The `postgres.ha` section the file amounts to (Patroni's own names). */
export interface PatroniHaSpec {
  manager: 'patroni';
  ttl?: number;
  loop_wait?: number;
  retry_timeout?: number;
  maximum_lag_on_failover?: number;
  synchronous_mode?: boolean;
  synchronous_mode_strict?: boolean;
  failsafe_mode?: boolean;
  use_pg_rewind?: boolean;
}

export interface PatroniYml {
  file: string;
  ha: PatroniHaSpec;
  /** Where each ha setting came from, 'patroni.yml:12'. */
  sources: Partial<Record<keyof PatroniHaSpec, string>>;
  /** The server's parameters as Patroni applies them (local over dynamic), each with its line. */
  parameters: Array<{ name: string; value: string; source: string }>;
  /** watchdog.mode ('off' when the file has no watchdog section, Patroni's default). */
  watchdog: { mode: string; source?: string };
}

const DYNAMIC = ['ttl', 'loop_wait', 'retry_timeout', 'maximum_lag_on_failover', 'synchronous_mode', 'synchronous_mode_strict', 'failsafe_mode'] as const;

export function readPatroniYml(file: string, shownAs = file): PatroniYml {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read Patroni configuration '${file}': ${describeError(error)}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new ConfigError(`${shownAs}:${first.linePos?.[0]?.line ?? '?'}: not valid YAML (${first.message.split('\n')[0]}): fix the file, or name another with --patroni-conf`);
  }
  const lineOf = (path: Array<string | number>) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? `${shownAs}:${lines.linePos(node.range[0]).line}` : shownAs;
  };
  const get = (path: Array<string | number>): unknown => toJs(doc, path);
  const ha: PatroniHaSpec = { manager: 'patroni' };
  const sources: PatroniYml['sources'] = {};
  const where = (key: string) => `${shownAs}, bootstrap.dcs.${key}`;
  for (const key of DYNAMIC) {
    const value = get(['bootstrap', 'dcs', key]);
    if (value === undefined || value === null) continue;
    sources[key] = lineOf(['bootstrap', 'dcs', key]);
    if (key === 'synchronous_mode') {
      const mode = String(value).toLowerCase();
      if (mode === 'quorum') throw new ConfigError(`${sources[key]}: synchronous_mode 'quorum' is not drilled by faultline yet: drill 'on' (true) or 'off' (false)`);
      ha.synchronous_mode = bool(value, where(key));
    } else if (key === 'synchronous_mode_strict' || key === 'failsafe_mode') {
      ha[key] = bool(value, where(key));
    } else {
      ha[key] = whole(value, where(key));
    }
  }
  const rewind = get(['postgresql', 'use_pg_rewind']) ?? get(['bootstrap', 'dcs', 'postgresql', 'use_pg_rewind']);
  if (rewind !== undefined && rewind !== null) {
    ha.use_pg_rewind = bool(rewind, `${shownAs}, use_pg_rewind`);
    sources.use_pg_rewind = get(['postgresql', 'use_pg_rewind']) !== undefined ? lineOf(['postgresql', 'use_pg_rewind']) : lineOf(['bootstrap', 'dcs', 'postgresql', 'use_pg_rewind']);
  }
  const parameters = new Map<string, { name: string; value: string; source: string }>();
  for (const base of [['bootstrap', 'dcs', 'postgresql', 'parameters'], ['postgresql', 'parameters']]) {
    const section = get(base);
    if (section === undefined || section === null) continue;
    if (typeof section !== 'object' || Array.isArray(section)) throw new ConfigError(`${lineOf(base)}: ${base.join('.')} must be a mapping of PostgreSQL settings`);
    for (const [name, value] of Object.entries(section as Record<string, unknown>)) {
      parameters.set(name.toLowerCase(), { name: name.toLowerCase(), value: typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value), source: lineOf([...base, name]) });
    }
  }
  const mode = get(['watchdog', 'mode']);
  const watchdog = mode === undefined || mode === null ? { mode: 'off' } : { mode: String(mode === false ? 'off' : mode).toLowerCase(), source: lineOf(['watchdog', 'mode']) };
  return { file, ha, sources, parameters: [...parameters.values()], watchdog };
}

function toJs(doc: Document, path: Array<string | number>): unknown {
  const node = doc.getIn(path, true) as { toJSON?: () => unknown } | undefined;
  if (node === undefined) return undefined;
  return typeof node.toJSON === 'function' ? node.toJSON() : node;
}

function bool(value: unknown, where: string): boolean {
  if (typeof value === 'boolean') return value;
  const text = String(value).toLowerCase();
  if (['on', 'true', 'yes', '1'].includes(text)) return true;
  if (['off', 'false', 'no', '0'].includes(text)) return false;
  throw new ConfigError(`${where}: '${String(value)}' is not true or false`);
}

function whole(value: unknown, where: string): number {
  const number = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isInteger(number) || number < 0) throw new ConfigError(`${where}: '${String(value)}' is not a whole number`);
  return number;
}
