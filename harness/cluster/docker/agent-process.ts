// The command agent itself: a small Perl loop kept on one docker exec in a node container, that runs
// one command at a time as a docker exec would (agent.ts says why), and its wire protocol seen from here.

import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { CommandOptions, CommandResult } from './agent.ts';
import { demux } from './demux.ts';

/**
 * The agent. Request: a 4-byte length, then NUL-separated fields: user, the number of environment
 * entries, the entries (KEY=value), the command's arguments. Answer: exit code, stdout length,
 * stderr length (4 bytes each), then stdout and stderr. Output is read to its end; once the command
 * has exited, output still held open by something it left running in the background is waited for
 * only half a second more.
 */
export const AGENT = String.raw`
use strict; use warnings; use POSIX (); use IO::Select;
binmode STDIN; binmode STDOUT; delete $ENV{HOME};
$SIG{PIPE} = 'DEFAULT';
sub readn { my ($n) = @_; my $b = ''; while (length($b) < $n) { my $r = sysread(STDIN, $b, $n - length($b), length($b)); return undef if !$r; } return $b; }
sub writeall { my ($d) = @_; while (length $d) { my $w = syswrite(STDOUT, $d); die "agent: write: $!\n" if !defined $w; substr($d, 0, $w) = ''; } }
while (defined(my $head = readn(4))) {
  my $body = readn(unpack('N', $head)); last if !defined $body;
  my ($user, $count, @rest) = split(/\0/, $body, -1);
  my @env = splice(@rest, 0, $count);
  my @argv = @rest;
  pipe(my $or, my $ow) or die "agent: pipe: $!\n";
  pipe(my $er, my $ew) or die "agent: pipe: $!\n";
  my $pid = fork();
  die "agent: fork: $!\n" if !defined $pid;
  if ($pid == 0) {
    close $or; close $er;
    open(STDIN, '<', '/dev/null'); open(STDOUT, '>&', $ow); open(STDERR, '>&', $ew); close $ow; close $ew;
    $SIG{PIPE} = 'DEFAULT';
    for (@env) { my ($k, $v) = split(/=/, $_, 2); $ENV{$k} = $v; }
    my @pw = $user =~ /^\d+$/ ? getpwuid($user) : getpwnam($user);
    @pw = ($user, 'x', $user, 0, '', '', '', '/') if !@pw && $user =~ /^\d+$/; # as Docker: a uid of no entry, group 0
    if (!@pw) { syswrite(STDOUT, "unable to find user $user: no matching entries in passwd file\n"); POSIX::_exit(126); }
    my ($name, $uid, $gid, $home) = @pw[0, 2, 3, 7];
    my @groups;
    while (my @g = getgrent()) { push @groups, $g[2] if grep { $_ eq $name } split(/ /, $g[3]); }
    endgrent();
    $) = join(' ', $gid, $gid, @groups); $( = $gid;
    POSIX::setuid($uid) or do { syswrite(STDERR, "agent: setuid $uid: $!\n"); POSIX::_exit(126); };
    $ENV{HOME} = $home if !defined $ENV{HOME};
    { no warnings 'exec'; exec { $argv[0] } @argv; }
    syswrite(STDOUT, "exec failed: exec: \"$argv[0]\": " . ($!{ENOENT} && $argv[0] !~ m{/} ? 'executable file not found in $PATH' : "$!") . "\n"); POSIX::_exit(126);
  }
  close $ow; close $ew;
  my $sel = IO::Select->new($or, $er);
  my %got = ($or => '', $er => '');
  my ($status, $quiet) = (undef, 0);
  while ($sel->count) {
    my @ready = $sel->can_read(0.1);
    if (!@ready) {
      if (!defined $status && waitpid($pid, POSIX::WNOHANG()) == $pid) { $status = $?; }
      if (defined $status) { $quiet += 0.1; last if $quiet >= 0.5; }
      next;
    }
    $quiet = 0;
    for my $fh (@ready) {
      my $r = sysread($fh, $got{$fh}, 65536, length $got{$fh});
      if (!$r) { $sel->remove($fh); }
    }
  }
  close $or; close $er;
  if (!defined $status) { waitpid($pid, 0); $status = $?; }
  my $code = ($status & 127) ? 128 + ($status & 127) : $status >> 8;
  writeall(pack('NNN', $code, length $got{$or}, length $got{$er}) . $got{$or} . $got{$er});
}
`;

/** One agent on its stream: one command at a time; the command it was running fails when the stream ends. */
export class Agent {
  #stream: Duplex;
  #pending: { resolve: (result: CommandResult) => void; reject: (error: Error) => void } | undefined;
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** The length of the answer being read (header included), once its header came. */
  #total: number | undefined;
  #said: Buffer[] = [];
  busy = false;
  alive = true;

  constructor(stream: Duplex, onEnd: () => void) {
    this.#stream = stream;
    stream.on('error', () => {});
    this.#idle();
    demux(stream, (chunk) => this.#take(chunk), (chunk) => void this.#said.push(chunk))
      .catch(() => {})
      .finally(() => {
        this.alive = false;
        const said = Buffer.concat(this.#said).toString('utf8').trim();
        this.#pending?.reject(new Error(`the container's command agent ended${said ? `: ${said.slice(-500)}` : ''} (the container stopped or was removed?)`));
        this.#pending = undefined;
        onEnd();
      });
  }

  /** Lets this process exit while the agent waits for work (its socket would hold it open). */
  #idle(): void {
    (this.#stream as Partial<Socket>).unref?.();
  }

  /** Gives up on this agent (its command overran): it takes no more work, and its stream is closed. */
  abandon(): void {
    this.alive = false;
    this.#stream.destroy();
  }

  run(request: Buffer): Promise<CommandResult> {
    this.busy = true;
    (this.#stream as Partial<Socket>).ref?.();
    return new Promise<CommandResult>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#stream.write(request);
    }).finally(() => {
      this.busy = false;
      if (this.alive) this.#idle();
    });
  }

  #take(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#total === undefined) {
      if (this.#bytes < 12) return;
      const head = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
      this.#chunks = [head];
      this.#total = 12 + head.readUInt32BE(4) + head.readUInt32BE(8);
    }
    if (this.#bytes < this.#total) return; // the answer's output is joined once, when all of it came
    const data = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const outEnd = 12 + data.readUInt32BE(4);
    const result = { exitCode: data.readUInt32BE(0), stdout: data.toString('utf8', 12, outEnd), stderr: data.toString('utf8', outEnd, this.#total) };
    const rest = data.subarray(this.#total);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#bytes = rest.length;
    this.#total = undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve(result);
  }
}

/** A request to an agent (see AGENT). */
export function encode(command: readonly string[], options: CommandOptions): Buffer {
  const env = Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const field of [...command, ...env]) {
    if (field.includes('\0')) throw new Error(`a command argument or environment entry holds a NUL byte: ${JSON.stringify(field.slice(0, 80))}`);
  }
  if (command.length === 0) throw new Error('an empty command');
  const body = Buffer.from([options.user ?? 'root', String(env.length), ...env, ...command].join('\0'), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}
