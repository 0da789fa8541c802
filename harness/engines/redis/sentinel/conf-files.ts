// The user's sentinel.conf and redis.conf, read for `faultline validate --sentinel-conf`: the settings
// that decide what a Sentinel failover costs (quorum, down-after-milliseconds, failover-timeout) and
// what the primary acknowledges and keeps (appendonly, appendfsync, save, min-replicas-to-write,
// min-replicas-max-lag, and a few more durability and replication directives), each with the line it
// came from; redis.conf's `include`s are followed, as Redis reads them. What describes the user's
// hosts (port, bind, dir, logfile, passwords, the monitored address) is not used: the drills run
// faultline's own. The files are only read.

import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ConfigError, describeError } from '../../../errors.ts';

export interface SentinelConfFile {
  file: string;
  /** The primary's name in `sentinel monitor` (the first one, when the file monitors several). */
  masterName: string;
  ha: { quorum: number; downAfterMs?: number; failoverTimeoutMs?: number };
  /** Where each setting came from, 'sentinel.conf:12'. */
  sources: Partial<Record<'quorum' | 'downAfterMs' | 'failoverTimeoutMs' | 'parallelSyncs', string>>;
  parallelSyncs?: number;
  /** Other primaries the file monitors: not drilled. */
  otherMasters: string[];
}

type AppendFsync = 'always' | 'everysec' | 'no';

export interface RedisConfFile {
  file: string;
  server: { appendonly?: boolean; appendfsync?: AppendFsync; save?: string; minReplicasToWrite?: number; minReplicasMaxLag?: number };
  sources: Partial<Record<keyof RedisConfFile['server'], string>>;
  /** Durability and replication directives the drills run as written (faultline's own are set first). */
  settings: Record<string, string>;
  /** Directives of the file the drills do not run (the host's own: ports, paths, passwords…). */
  ignored: string[];
}

/** Directives passed to the drills' servers as written: they change what is kept or replicated, not where the server runs. */
const DRILLED = new Set([
  'no-appendfsync-on-rewrite', 'aof-use-rdb-preamble', 'aof-rewrite-incremental-fsync', 'rdb-save-incremental-fsync', 'aof-load-truncated', 'aof-timestamp-enabled',
  'auto-aof-rewrite-percentage', 'auto-aof-rewrite-min-size', 'stop-writes-on-bgsave-error', 'rdbcompression', 'rdbchecksum',
  'repl-diskless-sync', 'repl-diskless-sync-delay', 'repl-diskless-load', 'repl-backlog-size', 'repl-backlog-ttl', 'repl-timeout', 'repl-ping-replica-period',
  'replica-serve-stale-data', 'replica-read-only', 'replica-priority', 'replica-lazy-flush', 'maxmemory', 'maxmemory-policy',
]);

/** Old names Redis still reads, as the new ones. */
const ALIASES: Record<string, string> = { 'min-slaves-to-write': 'min-replicas-to-write', 'min-slaves-max-lag': 'min-replicas-max-lag', 'slave-serve-stale-data': 'replica-serve-stale-data', 'slave-read-only': 'replica-read-only', 'slave-priority': 'replica-priority', 'repl-ping-slave-period': 'repl-ping-replica-period' };

interface Line {
  words: string[];
  source: string;
}

/** Words split as Redis splits a line: double or single quotes group, a double-quoted word may escape. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/** The files an `include` names: a path (relative to the including file's folder), or a `*` pattern in its last part. */
function included(pattern: string, from: string, line: Line, option: string): string[] {
  const path = isAbsolute(pattern) ? pattern : join(dirname(from), pattern);
  if (!basename(path).includes('*')) return [path];
  const folder = dirname(path);
  const re = new RegExp(`^${basename(path).split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (error) {
    throw new ConfigError(`${line.source}: cannot read the folder of 'include ${pattern}': ${describeError(error)}; fix the include, or name another file with ${option}`);
  }
  return names.filter((n) => re.test(n)).sort().map((n) => join(folder, n));
}

/**
 * A Redis configuration file's directives, in the order Redis reads them: comments and blank lines
 * left out, each `include` replaced by the directives of the files it names (a later directive wins).
 */
function directives(file: string, what: string, shownAs: string, option: string, seen: string[] = []): Line[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read ${what} '${file}': ${describeError(error)}`);
  }
  if (seen.includes(file)) throw new ConfigError(`${shownAs}: includes itself (through ${seen.join(' -> ')}): remove the loop`);
  const out: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const source = `${shownAs}:${i + 1}`;
    if ((line.match(/"/g)?.length ?? 0) % 2 === 1 && !/\\"/.test(line)) throw new ConfigError(`${source}: unbalanced quotes in '${line}': fix the line, or name another file with ${option}`);
    const split = words(line);
    const entry: Line = { words: [split[0]!.toLowerCase(), ...split.slice(1)], source };
    if (entry.words[0] !== 'include') return void out.push(entry);
    if (!split[1]) throw new ConfigError(`${source}: 'include' names no file: fix the line, or name another file with ${option}`);
    for (const path of included(split[1], file, entry, option)) out.push(...directives(path, `the file included at ${source}`, path, option, [...seen, file]));
  });
  return out;
}

function whole(value: string | undefined, line: Line, what: string, option: string, min = 0): number {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || n < min) {
    throw new ConfigError(`${line.source}: ${what} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, got ${value === undefined ? 'nothing' : `'${value}'`} in '${line.words.join(' ')}': fix it, or name another file with ${option}`);
  }
  return n;
}

export function readSentinelConf(file: string, shownAs = file): SentinelConfFile {
  const option = '--sentinel-conf';
  const lines = directives(file, 'Sentinel configuration', shownAs, option).filter((l) => l.words[0] === 'sentinel');
  const monitors = lines.filter((l) => l.words[1]?.toLowerCase() === 'monitor');
  if (monitors.length === 0) {
    throw new ConfigError(`${shownAs}: no 'sentinel monitor <name> <host> <port> <quorum>' line: faultline drills the primary your Sentinels monitor, so name the file your Sentinels run with (${option})`);
  }
  const monitor = monitors[0]!;
  const masterName = monitor.words[2] ?? '';
  const quorum = whole(monitor.words[5], monitor, "'sentinel monitor' quorum (its fifth word)", option, 1);
  const conf: SentinelConfFile = { file: shownAs, masterName, ha: { quorum }, sources: { quorum: monitor.source }, otherMasters: monitors.slice(1).map((l) => l.words[2] ?? '?') };
  for (const line of lines) {
    if (line.words[2] !== masterName) continue;
    const [, what, , value] = line.words;
    switch (what?.toLowerCase()) {
      case 'down-after-milliseconds':
        conf.ha.downAfterMs = whole(value, line, 'down-after-milliseconds', option, 1);
        conf.sources.downAfterMs = line.source;
        break;
      case 'failover-timeout':
        conf.ha.failoverTimeoutMs = whole(value, line, 'failover-timeout', option, 1);
        conf.sources.failoverTimeoutMs = line.source;
        break;
      case 'parallel-syncs':
        conf.parallelSyncs = whole(value, line, 'parallel-syncs', option, 1);
        conf.sources.parallelSyncs = line.source;
        break;
    }
  }
  return conf;
}

export function readRedisConf(file: string, shownAs = file): RedisConfFile {
  const option = '--redis-conf';
  const conf: RedisConfFile = { file: shownAs, server: {}, sources: {}, settings: {}, ignored: [] };
  const saves: string[] = [];
  for (const line of directives(file, 'Redis configuration', shownAs, option)) {
    const name = ALIASES[line.words[0]!] ?? line.words[0]!;
    const args = line.words.slice(1);
    const yesNo = () => {
      const v = args[0]?.toLowerCase();
      if (v !== 'yes' && v !== 'no') throw new ConfigError(`${line.source}: ${name} must be yes or no, got '${args.join(' ')}': fix it, or name another file with ${option}`);
      return v === 'yes';
    };
    switch (name) {
      case 'appendonly':
        conf.server.appendonly = yesNo();
        conf.sources.appendonly = line.source;
        break;
      case 'appendfsync': {
        const v = args[0]?.toLowerCase();
        if (v !== 'always' && v !== 'everysec' && v !== 'no') throw new ConfigError(`${line.source}: appendfsync must be always, everysec or no, got '${args.join(' ')}': fix it, or name another file with ${option}`);
        conf.server.appendfsync = v;
        conf.sources.appendfsync = line.source;
        break;
      }
      case 'save':
        // Redis: the file's first `save` replaces the default points; `save ""` means none.
        if (args.length === 1 && args[0] === '') saves.length = 0;
        else {
          if (args.length % 2 !== 0 || !args.every((a) => /^\d+$/.test(a))) throw new ConfigError(`${line.source}: save takes "seconds changes" pairs, got '${args.join(' ')}': fix it, or name another file with ${option}`);
          saves.push(args.join(' '));
        }
        conf.sources.save ??= line.source;
        conf.server.save = saves.join(' ');
        break;
      case 'min-replicas-to-write':
        conf.server.minReplicasToWrite = whole(args[0], line, name, option);
        conf.sources.minReplicasToWrite = line.source;
        break;
      case 'min-replicas-max-lag':
        conf.server.minReplicasMaxLag = whole(args[0], line, name, option);
        conf.sources.minReplicasMaxLag = line.source;
        break;
      default:
        if (DRILLED.has(name)) conf.settings[name] = args.join(' ');
        else if (!conf.ignored.includes(name)) conf.ignored.push(name);
    }
  }
  return conf;
}
