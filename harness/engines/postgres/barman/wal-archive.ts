// barman-wal-archive in the user's archive_command: `barman-wal-archive [options] BARMAN_HOST
// SERVER_NAME WAL_PATH` logs in to the Barman host over SSH (as `barman` unless -U/--user says
// otherwise) and runs `barman put-wal SERVER_NAME`, which writes the segment into the server's
// incoming directory and fsyncs it there; `barman cron` then archives it. Pure.

import { commandsOf } from '../user-archive/programs.ts';
import type { PostgresTopology } from '../topology.ts';

export interface WalArchive {
  user: string;
  host: string;
  server: string;
}

/** Options of barman-wal-archive that take a value. */
const WITH_VALUE = new Set(['-U', '--user', '-c', '--config', '-p', '--port', '--md5', '--retry-sleep', '--retry-times']);

/** What the command's barman-wal-archive logs in as and to, or undefined when it runs none. */
export function walArchiveOf(command: string | undefined): WalArchive | undefined {
  if (!command) return undefined;
  for (const simple of commandsOf(command)) {
    if (simple.words[0]!.split('/').at(-1) !== 'barman-wal-archive') continue;
    let user = 'barman';
    const positional: string[] = [];
    for (let i = 1; i < simple.words.length; i++) {
      const word = simple.words[i]!;
      if (word === '-U' || word === '--user') user = simple.words[++i] ?? user;
      else if (word.startsWith('--user=')) user = word.slice('--user='.length);
      else if (WITH_VALUE.has(word)) i++;
      else if (!word.startsWith('-')) positional.push(word);
    }
    const [host, server] = positional;
    if (host && server) return { user, host, server };
  }
  return undefined;
}

/** The topology's barman-wal-archive, from the archive_command that runs as written. */
export function topologyWalArchive(topology: PostgresTopology): WalArchive | undefined {
  return walArchiveOf(topology.postgres.applied.archive?.command?.value);
}
