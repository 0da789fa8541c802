// What a user's archive_command (or a script it runs) needs to run as written in faultline's
// containers: which programs it runs (and the ones that cannot run here, with why and what to try),
// the remote hosts and paths it copies to, and the local paths it copies into. Pure: read from the
// command's text (and the scripts' texts) with the shell reader of archive-command.ts.

import { program, simpleCommands, type SimpleCommand } from '../archive-command.ts';

/** Programs of the node image an archive_command or restore_command may run. */
const RUNNABLE = new Set([
  'cp', 'mv', 'install', 'test', '[', '[[', 'true', 'false', ':', 'exit', 'mkdir', 'chmod', 'chown', 'ln', 'cat', 'dd', 'sync', 'rm',
  'gzip', 'gunzip', 'zcat', 'lz4', 'xz', 'unxz', 'bzip2', 'bunzip2', 'sh', 'bash', 'dash', 'env', 'echo', 'printf', 'sleep', 'basename', 'dirname',
  'touch', 'sha256sum', 'sha1sum', 'md5sum', 'cmp', 'find', 'xargs', 'date', 'logger', 'tee', 'stat', 'ls', 'head', 'tail', 'wc', 'timeout',
  'rsync', 'scp', 'ssh', 'sftp', 'set', 'exec', 'return', 'source', '.', 'export', 'local', 'readonly', 'cd', 'umask',
  'pg_archivecleanup', 'pg_waldump', 'pg_receivewal',
]);
/** Shell words that lead a command without being its program. */
const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'for', 'do', 'done', 'while', 'until', 'case', 'esac', '{', '}', '!', 'time', 'in']);
const CLOUD = new Set(['aws', 'gsutil', 'gcloud', 'az', 'azcopy', 'rclone', 's3cmd', 'barman-cloud-wal-archive', 'barman-cloud-wal-restore', 'swift', 'b2']);
const NOT_SHIPPED = new Set(['wal-g', 'wal-e', 'envdir', 'pgbarman']);

/** The words of a simple command from its program on (leading keywords and VAR=value assignments skipped). */
function fromProgram(command: SimpleCommand): string[] {
  let i = 0;
  while (i < command.words.length && (KEYWORDS.has(command.words[i]!) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(command.words[i]!))) i++;
  return command.words.slice(i);
}

/** Every simple command of a text, with `bash -c '…'`/`sh -c '…'` read into (their commands count as the command's own). */
export function commandsOf(text: string): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  for (const simple of simpleCommands(text.replace(/^\s*#.*$/gm, ''))) {
    const words = fromProgram(simple);
    if (words.length === 0) continue;
    const name = program({ words, after: simple.after });
    const c = words.indexOf('-c');
    if ((name === 'bash' || name === 'sh' || name === 'dash') && c > 0 && words[c + 1] !== undefined) out.push(...commandsOf(words[c + 1]!));
    else out.push({ words, after: simple.after });
  }
  return out;
}

/** The programs a command runs, as written (a path stays a path). */
export function programsOf(text: string): string[] {
  return commandsOf(text).map((simple) => simple.words[0]!);
}

/**
 * Why an archive_command cannot run as written in faultline's containers (undefined when it can):
 * a program the image lacks, a cloud store it cannot reach, a script the user did not give, a tool
 * that belongs to another backupTool. Says which program, why, and what to try.
 */
export function archiveCommandRefusal(command: string, tool: 'archive_command' | 'barman', scripts: Record<string, string>): string | undefined {
  for (const word of programsOf(command)) {
    const name = word.split('/').at(-1)!;
    if (word.startsWith('/') && scripts[word] !== undefined) continue;
    if (/^\$|`/.test(word)) return `it runs '${word}', a program named by a variable, which faultline cannot tell: write the program's path in archive_command`;
    if (CLOUD.has(name)) return `it runs '${name}', which sends WAL to a cloud object store outside faultline's containers, so the drills cannot run it: validate an archive_command that copies to a host or mount faultline can stand up (rsync over SSH, cp into a mount), or pgBackRest or Barman, with the same durability settings`;
    if (NOT_SHIPPED.has(name)) return `it runs '${name}', which Debian does not ship, so faultline's node image cannot run it: validate the same pipeline with pgBackRest or Barman (backupTool 'pgbackrest' or 'barman'), or an rsync/cp archive_command with the same durability settings`;
    if (name === 'pgbackrest') return `it runs pgBackRest's archive-push: validate it with backupTool 'pgbackrest' (give --pgbackrest-conf), which sets up a pgBackRest repository for it`;
    if (name === 'barman-wal-archive' && tool !== 'barman') return `it runs barman-wal-archive, which needs a Barman server: validate it with backupTool 'barman' (give --barman-conf)`;
    if (name === 'barman-wal-archive') continue;
    if (word.startsWith('/') && !/^\/(usr\/)?(local\/)?s?bin\/|^\/usr\/lib\/postgresql\/\d+\/bin\//.test(word)) {
      return `it runs '${word}', a script faultline was not given: pass it with --archive-script ${word}=./${name} (the path in the command, then your local copy), and it runs as written, read-only`;
    }
    if (word.startsWith('/') && scripts[word] === undefined && !RUNNABLE.has(name)) {
      return `it runs '${word}', which is not in faultline's node image: if it is your script, pass it with --archive-script ${word}=./${name}`;
    }
    if (!word.startsWith('/') && !RUNNABLE.has(name)) {
      return `it runs '${name}', which is not in faultline's node image (it has the usual shell tools, rsync, scp/ssh, gzip/lz4/xz, pgBackRest and Barman's): if it is your script, write its full path in archive_command and pass it with --archive-script PATH=./FILE`;
    }
  }
  return undefined;
}

/** Why an archive_library cannot run (undefined when it can): only PostgreSQL's basic_archive is in the image. */
export function archiveLibraryRefusal(library: string): string | undefined {
  const name = library.trim().replace(/^\$libdir\//, '');
  if (name === '' || name === 'basic_archive') return undefined;
  return `the archive library '${library}' is not in faultline's node image, which has PostgreSQL's basic_archive only: validate with basic_archive and basic_archive.archive_directory on the same mount, or with an archive_command`;
}

/** A destination on another host, as scp, rsync or ssh address it. */
export interface RemoteDestination {
  user?: string;
  host: string;
  /** The directory on that host ('' for the remote user's home). Absolute, or relative to the home. */
  dir: string;
}

export interface Destinations {
  remote: RemoteDestination[];
  /** Absolute local directories copied into (mount points in the user's world). */
  local: string[];
  /** Hosts reached by ssh (for a remote command), with their users. */
  hosts: Array<{ user?: string; host: string }>;
}

/** The directory part of a destination path, cut before the first expansion ('/mnt/wal/%f' → '/mnt/wal', '/srv/$2' → '/srv'). */
function directoryOf(path: string, isDir: boolean): string {
  const cut = path.search(/%[pfr]|\$|`/);
  let dir = cut >= 0 ? path.slice(0, cut) : path;
  if (cut >= 0 || !isDir) dir = dir.slice(0, dir.lastIndexOf('/') + 1);
  return dir.replace(/\/+$/, '') || (path.startsWith('/') ? '/' : '');
}

/**
 * A script's text with its plain variables put in: `dir=/mnt/wal` then `cp "$1" "$dir/$2"` reads as
 * `cp "$1" "/mnt/wal/$2"`. Only values without expansions of their own; positional parameters stay.
 */
export function withAssignments(text: string): string {
  const values = new Map<string, string>();
  for (const simple of simpleCommands(text.replace(/^\s*#.*$/gm, ''))) {
    const words = simple.words[0] === 'export' || simple.words[0] === 'local' || simple.words[0] === 'readonly' ? simple.words.slice(1) : simple.words;
    for (const word of words) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(word);
      if (!match) break;
      if (!/[$`]/.test(match[2]!)) values.set(match[1]!, match[2]!);
    }
  }
  if (values.size === 0) return text;
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, bare?: string) => values.get((braced ?? bare)!) ?? whole);
}

const REMOTE = /^(?:([A-Za-z0-9._-]+)@)?([A-Za-z0-9][A-Za-z0-9._-]*):(.*)$/;

/**
 * Where a command (and the scripts it runs) copies to: remote `[user@]host:path` operands of scp
 * and rsync, hosts of ssh, and local absolute directories that cp, mv, install, rsync, dd of= or a
 * redirection write into. A destination ending in '/' or without %f is taken as a directory.
 */
export function destinationsOf(command: string, scripts: Record<string, string> = {}): Destinations {
  const out: Destinations = { remote: [], local: [], hosts: [] };
  const addLocal = (path: string, isDir: boolean) => {
    if (!path.startsWith('/') || path.startsWith('/dev/')) return;
    const dir = directoryOf(path, isDir);
    if (dir && dir !== '/' && !out.local.includes(dir)) out.local.push(dir);
  };
  const addRemote = (operand: string) => {
    const match = REMOTE.exec(operand);
    if (!match) return false;
    const [, user, host, path] = match as unknown as [string, string | undefined, string, string];
    const dir = directoryOf(path, path.endsWith('/') || !/%f|\$/.test(path));
    if (!out.remote.some((r) => r.host === host && r.dir === dir && r.user === user)) out.remote.push({ ...(user ? { user } : {}), host, dir });
    if (!out.hosts.some((h) => h.host === host && h.user === user)) out.hosts.push({ ...(user ? { user } : {}), host });
    return true;
  };
  const read = (raw: string) => {
    const text = withAssignments(raw);
    for (const simple of commandsOf(text)) {
      const words = simple.words;
      const name = program(simple);
      for (let i = 1; i < words.length; i++) {
        const word = words[i]!;
        if (word === '>' || word === '>>') addLocal(words[i + 1] ?? '', false);
        else if (/^>>?\//.test(word)) addLocal(word.replace(/^>>?/, ''), false);
      }
      const operands = words.slice(1).filter((w) => !w.startsWith('-') && !/^>/.test(w));
      if (name === 'ssh') {
        // ssh [options] [user@]host command…: options with a value are skipped with it.
        let i = 1;
        while (i < words.length && words[i]!.startsWith('-')) i += /^-[bcDEeFIiJLlmOopQRSWw]$/.test(words[i]!) ? 2 : 1;
        const target = words[i];
        if (target) {
          const [user, host] = target.includes('@') ? (target.split('@') as [string, string]) : [undefined, target];
          if (!out.hosts.some((h) => h.host === host && h.user === user)) out.hosts.push({ ...(user ? { user } : {}), host });
          // What the remote command writes to, read like a local command: a directory on that host.
          const remote = destinationsOf(words.slice(i + 1).join(' '));
          for (const dir of remote.local) if (!out.remote.some((r) => r.host === host && r.dir === dir)) out.remote.push({ ...(user ? { user } : {}), host, dir });
        }
        continue;
      }
      if (name === 'dd') {
        for (const word of words) if (word.startsWith('of=')) addLocal(word.slice(3), false);
        continue;
      }
      if (name === 'scp' || name === 'rsync' || name === 'cp' || name === 'mv' || name === 'install') {
        const target = operands.at(-1);
        if (target === undefined || operands.length < 2) continue;
        if (!addRemote(target)) addLocal(target, target.endsWith('/') || !/%f|\$/.test(target));
        continue;
      }
      if (name === 'mkdir' || name === 'test' || name === '[' || name === '[[' || name === 'touch') continue;
      if (words[0]!.startsWith('/') && scripts[words[0]!] !== undefined) read(scripts[words[0]!]!);
    }
    // A script may keep its destination in a variable: `DEST=backup-host:/srv/wal` is one too.
    for (const match of text.matchAll(/(?:^|[\s=("'])((?:[A-Za-z0-9._-]+@)?[A-Za-z][A-Za-z0-9._-]*:\/(?!\/)[^\s"'$;)]*)/g)) addRemote(match[1]!);
  };
  read(command);
  return out;
}
