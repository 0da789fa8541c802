// SSH from the cluster's servers to the backup host, as a user's archive_command (scp, rsync, ssh,
// barman-wal-archive) and faultline's own mounts of it need: an SSH server on the backup host with
// a host key made for this run, a client key made for this run authorized for the users the
// commands log in as, and every server's known_hosts listing the host key under the names the
// commands use (the backup host answers to them on the run's network: containerOptions aliases).

import { ClusterError } from '../../../errors.ts';
import type { PostgresNodeHandle } from '../postgres-node.ts';

/** What clients need to log in: the key pair and the host's public key, kept per backup host for nodes admitted later. */
interface Trust {
  privateKey: string;
  publicKey: string;
  hostKey: string;
  aliases: string[];
  /** Key files the user's commands name (`ssh -i PATH`): the run's key is installed there too. */
  keyPaths: string[];
}

const TRUSTS = new WeakMap<PostgresNodeHandle, Trust>();

/** A shell word, single-quoted. */
export function sh(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}

/**
 * Starts sshd on `server` (once) and lets `clients`' postgres (and root, for mounts) log in to it as
 * each of `users` (made if missing) with a key made for this run. Returns what it did, for the log.
 */
export async function trustSsh(options: { server: PostgresNodeHandle; users: string[]; aliases: string[]; clients: PostgresNodeHandle[]; keyPaths?: string[] }): Promise<string> {
  const { server } = options;
  let trust = TRUSTS.get(server);
  if (!trust) {
    const made = await server.run(
      [
        'bash',
        '-c',
        'set -e; ssh-keygen -A >/dev/null; mkdir -p /run/sshd; ' +
          "printf '%s\\n' 'PasswordAuthentication no' 'KbdInteractiveAuthentication no' 'UsePAM no' 'PermitRootLogin no' 'MaxStartups 100:30:200' 'MaxSessions 100' 'LogLevel VERBOSE' >/etc/ssh/sshd_config.d/faultline.conf; " +
          '/usr/sbin/sshd -E /var/log/faultline/sshd.log; ' +
          'd=$(mktemp -d); ssh-keygen -q -t ed25519 -N "" -C faultline-run -f $d/key; cat $d/key; echo FAULTLINE-SPLIT; cat $d/key.pub; echo FAULTLINE-SPLIT; cat /etc/ssh/ssh_host_ed25519_key.pub; rm -rf $d',
      ],
      { user: 'root' },
    );
    const [privateKey, publicKey, hostKey] = made.stdout.split('FAULTLINE-SPLIT').map((part) => part.trim()) as [string, string, string];
    trust = { privateKey, publicKey, hostKey: hostKey.split(' ').slice(0, 2).join(' '), aliases: [], keyPaths: [] };
    TRUSTS.set(server, trust);
  }
  for (const alias of [server.name, ...options.aliases]) if (!trust.aliases.includes(alias)) trust.aliases.push(alias);
  for (const path of options.keyPaths ?? []) if (!trust.keyPaths.includes(path)) trust.keyPaths.push(path);
  // Each user: made when missing, unlocked for key logins (sshd refuses a locked account without PAM), the key authorized.
  const users = [...new Set(options.users)];
  await server.run(
    [
      'bash',
      '-c',
      // A system account the command names (Debian's 'backup' has /usr/sbin/nologin) gets a shell: the command logs in as it.
      'set -e; for u in "$@"; do id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"; usermod -p "*" -s /bin/bash "$u"; ' +
        'h=$(getent passwd "$u" | cut -d: -f6); mkdir -p "$h/.ssh"; grep -qxF "$FL_KEY" "$h/.ssh/authorized_keys" 2>/dev/null || echo "$FL_KEY" >>"$h/.ssh/authorized_keys"; ' +
        'chown -R "$u:" "$h/.ssh"; chmod 700 "$h/.ssh"; chmod 600 "$h/.ssh/authorized_keys"; done',
      'trust',
      ...users,
    ],
    { user: 'root', env: { FL_KEY: trust.publicKey } },
  );
  await Promise.all(options.clients.map((client) => admitSsh(server, client)));
  return `SSH on ${server.name} (a host key and a client key made for this run) for ${users.join(', ')} from ${options.clients.map((c) => c.name).join(', ')}; their known_hosts list ${server.name}'s key as ${trust.aliases.join(', ')}${trust.keyPaths.length ? `; the run's key is also at ${trust.keyPaths.join(', ')}, the key file your commands name` : ''}`;
}

/** A node started later (a restore's) gets the same client key and known_hosts as the servers. */
export async function admitSsh(server: PostgresNodeHandle, client: PostgresNodeHandle): Promise<void> {
  const trust = TRUSTS.get(server);
  if (!trust) throw new ClusterError(`no SSH was set up on ${server.name} for ${client.name} to log in with`);
  const known = `${trust.aliases.join(',')} ${trust.hostKey}`;
  const install =
    'set -e; for h in /var/lib/postgresql /root; do u=$(stat -c %U $h); mkdir -p $h/.ssh; printf "%s\\n" "$FL_PRIVATE" >$h/.ssh/id_ed25519; printf "%s\\n" "$FL_PUBLIC" >$h/.ssh/id_ed25519.pub; ' +
    'grep -qxF "$FL_KNOWN" $h/.ssh/known_hosts 2>/dev/null || printf "%s\\n" "$FL_KNOWN" >>$h/.ssh/known_hosts; chown -R $u: $h/.ssh; chmod 700 $h/.ssh; chmod 600 $h/.ssh/id_ed25519; done; ' +
    'for p in "$@"; do mkdir -p "$(dirname "$p")"; printf "%s\\n" "$FL_PRIVATE" >"$p"; chown postgres: "$p"; chmod 600 "$p"; done';
  await client.run(['bash', '-c', install, 'admit', ...trust.keyPaths], {
    user: 'root',
    env: { FL_PRIVATE: trust.privateKey, FL_PUBLIC: trust.publicKey, FL_KNOWN: known },
  });
}

/** Key files a command names with `-i PATH` (ssh, scp, rsync -e "ssh -i PATH"), and known_hosts files it names. */
export function keyPathsOf(text: string): string[] {
  return [...new Set([...text.matchAll(/(?:^|\s|["'])-i\s*(\/[^\s"']+)/g)].map((m) => m[1]!))];
}
