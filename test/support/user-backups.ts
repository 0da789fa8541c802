// Real backups made the way users make them, for the integration tests of `faultline prove-backup`:
// each function starts a throwaway container of faultline's own node image, runs the real tools in it
// (initdb, pg_basebackup, archive_command, pgBackRest, redis-server) onto a host directory bind-mounted
// at the same path inside the container, and always stops and removes the container. What is left on
// the host is what a user would have: the backup files, and the facts the tests assert on.

import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { postgresImage } from '../../harness/engines/postgres/image.ts';
import { redisImage } from '../../harness/engines/redis/image.ts';

export interface MadeBackup {
  /** Host directory holding everything (a mkdtemp under os.tmpdir()). */
  dir: string;
  /** PostgreSQL major. */
  version: number;
  /** The table the rows are in. */
  table: string;
  /** Rows committed in total (before + after the backup); ids 1..rows. */
  rows: number;
  /** Rows committed before the backup started (ids 1..rowsBefore). */
  rowsBefore: number;
  /** Commit time of the last committed transaction (the server's own commit timestamp, to the millisecond, rounded down). */
  lastCommitAt: Date;
  /** The same commit time as the server gave it, to the microsecond (ISO 8601, UTC). */
  lastCommitAtExact: string;
  /** pg_current_wal_lsn() after the last commit. */
  lastLsn: string;
  /** Names of the archived WAL segments (24 hex digits), sorted. */
  walSegments: string[];
}

export interface BaseBackupOptions {
  version?: number;
  format?: 'tar' | 'plain';
  compressTar?: boolean;
  rowsBefore?: number;
  rowsAfter?: number;
  /** WAL switches after the backup, each after some of the rows after it (default 3). */
  segmentsAfter?: number;
}

export interface PgBackRestOptions {
  version?: number;
  stanzas?: string[];
  rowsBefore?: number;
  rowsAfter?: number;
  segmentsAfter?: number;
  compressType?: 'gz' | 'lz4' | 'none';
  /** An S3-compatible bucket instead of a posix repository (TLS, path-style, verification off, as for a private endpoint). */
  s3?: S3Target;
}

/** Where an S3-compatible server listens, as the containers reach it, and the bucket and key to use. */
export interface S3Target {
  endpoint: string;
  port: number;
  bucket: string;
  key: string;
  secret: string;
  region: string;
}

export interface RedisDumpOptions {
  /** A node image tag; default faultline's Redis image (Redis 8). */
  image?: string;
  keys?: number;
  aof?: boolean;
}

const TABLE = 'orders';
const READY = 'faultline-node: ready';
/** Limit of any one step inside the container (`timeout`), so a hung tool fails the step, not the test run. */
const STEP_SECONDS = 120;
const SEGMENT = /^[0-9A-F]{24}$/;

/**
 * A base backup taken with pg_basebackup (-X none, -c fast) plus the WAL archive a plain
 * `archive_command = 'test ! -f <dir>/wal/%f && cp %p <dir>/wal/%f'` filled: rows before the backup,
 * rows after it across `segmentsAfter` WAL switches (so whole segments follow the backup), the last
 * segment archived, the server stopped. `baseBackup` is `<dir>/base` (with base.tar[.gz] and
 * backup_manifest for 'tar', a data directory with backup_manifest for 'plain'); `walArchive` is `<dir>/wal`.
 */
export async function makeBaseBackupWithArchive(
  options: BaseBackupOptions = {},
): Promise<MadeBackup & { baseBackup: string; walArchive: string }> {
  const version = options.version ?? 17;
  const format = options.format ?? 'tar';
  const rowsBefore = options.rowsBefore ?? 100;
  const rowsAfter = options.rowsAfter ?? 100;
  const segmentsAfter = options.segmentsAfter ?? 3;
  checkCounts(rowsBefore, rowsAfter, segmentsAfter);
  const dir = hostDir('faultline-basebackup-');
  const baseBackup = join(dir, 'base');
  const walArchive = join(dir, 'wal');
  const data = '/var/lib/postgresql/cluster';
  const port = 5432;
  const facts = await removingOnFailure(dir, async () => withNode(await postgresImage(version), dir, async (node) => {
    await sh(node, 'create the WAL archive directory', `mkdir -p ${q(walArchive)}`);
    await initCluster(node, data, port, [
      `archive_mode = on`,
      `archive_command = 'test ! -f ${walArchive}/%f && cp %p ${walArchive}/%f'`,
    ]);
    await startServer(node, data);
    await createTable(node, port);
    await insertRows(node, port, 1, rowsBefore, Math.min(4, rowsBefore));
    const flags = format === 'tar' ? `-Ft${options.compressTar ? ' -z' : ''}` : '-Fp';
    await sh(node, 'pg_basebackup', `pg_basebackup -p ${port} -D ${q(baseBackup)} ${flags} -X none -c fast --no-password`);
    const facts = await afterBackup(node, port, rowsBefore, rowsAfter, segmentsAfter);
    await stopServer(node, data);
    return facts;
  }));
  return {
    dir,
    version,
    table: TABLE,
    rows: rowsBefore + rowsAfter,
    rowsBefore,
    ...facts,
    walSegments: readdirSync(walArchive).filter((f) => SEGMENT.test(f)).sort(),
    baseBackup,
    walArchive,
  };
}

/**
 * A pgBackRest posix repository at `<dir>/repo` with one stanza per name (one PostgreSQL cluster each,
 * one after another in the same container, each on its own port and data directory), configured by
 * `<dir>/pgbackrest.conf` as a user writes it; per stanza: stanza-create, a full backup, rows and WAL
 * switches after it pushed by archive_command (`pgbackrest … archive-push %p`), the server stopped.
 */
export async function makePgBackRestRepo(options: PgBackRestOptions = {}): Promise<{
  dir: string;
  conf: string;
  repoPath: string;
  stanzas: Array<MadeBackup & { stanza: string; dataDir: string; port: number; backupLabel: string }>;
}> {
  const version = options.version ?? 17;
  const names = options.stanzas ?? ['main'];
  const rowsBefore = options.rowsBefore ?? 100;
  const rowsAfter = options.rowsAfter ?? 100;
  const segmentsAfter = options.segmentsAfter ?? 3;
  const compressType = options.compressType ?? 'gz';
  checkCounts(rowsBefore, rowsAfter, segmentsAfter);
  if (names.length === 0) throw new Error('makePgBackRestRepo: give at least one stanza');
  for (const s of names) if (!/^[A-Za-z0-9_-]+$/.test(s)) throw new Error(`makePgBackRestRepo: stanza name '${s}' is not a plain name`);
  const dir = hostDir('faultline-pgbackrest-');
  const repoPath = join(dir, 'repo');
  const conf = join(dir, 'pgbackrest.conf');
  const clusters = names.map((stanza, i) => ({ stanza, dataDir: `/var/lib/postgresql/${stanza}`, port: 5432 + i }));
  const lines = [
    '[global]',
    ...(options.s3
      ? [
          'repo1-type=s3',
          'repo1-path=/pgbackrest',
          `repo1-s3-endpoint=${options.s3.endpoint}`,
          `repo1-storage-port=${options.s3.port}`,
          `repo1-s3-bucket=${options.s3.bucket}`,
          `repo1-s3-region=${options.s3.region}`,
          `repo1-s3-key=${options.s3.key}`,
          `repo1-s3-key-secret=${options.s3.secret}`,
          'repo1-s3-uri-style=path',
          'repo1-storage-verify-tls=n',
        ]
      : [`repo1-path=${repoPath}`]),
    'repo1-retention-full=2',
    'start-fast=y',
    `compress-type=${compressType}`,
    'log-path=/tmp/pgbackrest/log',
    'lock-path=/tmp/pgbackrest/lock',
    '',
  ];
  for (const c of clusters) lines.push(`[${c.stanza}]`, `pg1-path=${c.dataDir}`, `pg1-port=${c.port}`, '');
  writeFileSync(conf, lines.join('\n'), { mode: 0o644 });
  // Unquoted, as a user writes it (also inside archive_command's quotes in postgresql.conf): hostDir()
  // makes sure the path is plain.
  const pgbackrest = (stanza: string) => `pgbackrest --config=${conf} --stanza=${stanza}`;

  const made = await removingOnFailure(dir, async () => withNode(await postgresImage(version), dir, async (node) => {
    await sh(node, 'create the pgBackRest repository, log and lock paths', `mkdir -p ${q(repoPath)} /tmp/pgbackrest/log /tmp/pgbackrest/lock`);
    const results = [];
    for (const c of clusters) {
      await initCluster(node, c.dataDir, c.port, [`archive_mode = on`, `archive_command = '${pgbackrest(c.stanza)} archive-push %p'`]);
      await startServer(node, c.dataDir);
      await sh(node, `pgbackrest stanza-create (stanza ${c.stanza})`, `${pgbackrest(c.stanza)} stanza-create`);
      await createTable(node, c.port);
      await insertRows(node, c.port, 1, rowsBefore, Math.min(4, rowsBefore));
      await sh(node, `pgbackrest full backup (stanza ${c.stanza})`, `${pgbackrest(c.stanza)} --type=full backup`);
      const info = JSON.parse(await sh(node, `pgbackrest info (stanza ${c.stanza})`, `${pgbackrest(c.stanza)} --output=json info`)) as Array<{
        backup?: Array<{ label: string }>;
      }>;
      const backupLabel = info[0]?.backup?.at(-1)?.label;
      if (!backupLabel) throw new Error(`pgbackrest info (stanza ${c.stanza}) lists no backup: ${JSON.stringify(info)}`);
      const facts = await afterBackup(node, c.port, rowsBefore, rowsAfter, segmentsAfter);
      await stopServer(node, c.dataDir);
      results.push({ ...c, backupLabel, facts });
    }
    return results;
  }));

  const stanzas = made.map((m) => ({
    dir,
    version,
    table: TABLE,
    rows: rowsBefore + rowsAfter,
    rowsBefore,
    ...m.facts,
    walSegments: options.s3 ? [] : archivedInRepo(join(repoPath, 'archive', m.stanza)),
    stanza: m.stanza,
    dataDir: m.dataDir,
    port: m.port,
    backupLabel: m.backupLabel,
  }));
  return { dir, conf, repoPath, stanzas };
}

/**
 * A Redis data directory as redis-server leaves it: `keys` keys (key:1 … key:N, value value-i)
 * written, SAVE (and, with `aof`, BGREWRITEAOF finished), then SHUTDOWN SAVE. The directory holds
 * dump.rdb (and appendonlydir/ with `aof`).
 */
export async function makeRedisDump(options: RedisDumpOptions = {}): Promise<{ dir: string; keys: number; lastKey: string }> {
  const keys = options.keys ?? 1000;
  if (!Number.isInteger(keys) || keys < 1) throw new Error(`makeRedisDump: keys must be a positive integer, not ${keys}`);
  const dir = hostDir('faultline-redis-dump-');
  await removingOnFailure(dir, async () => withNode(options.image ?? (await redisImage()), dir, async (node) => {
    const server = `redis-server --port 6379 --bind 127.0.0.1 --dir ${q(dir)} --dbfilename dump.rdb --save '' --appendonly ${options.aof ? 'yes' : 'no'} --daemonize yes --logfile /tmp/redis.log --pidfile /tmp/redis.pid`;
    await sh(
      node,
      'start redis-server',
      `${server}
       for i in $(seq 1 100); do [ "$(redis-cli PING 2>/dev/null)" = PONG ] && exit 0; sleep 0.1; done
       echo "redis-server did not answer PING within 10 s"; tail -n 20 /tmp/redis.log; exit 1`,
      'redis',
    );
    await sh(
      node,
      `write ${keys} keys`,
      `seq 1 ${keys} | awk '{ print "SET key:" $1 " value-" $1 }' | redis-cli >/tmp/set.out
       n=$(grep -c '^OK$' /tmp/set.out || true)
       [ "$n" = ${keys} ] || { echo "only $n of ${keys} SETs answered OK"; sort /tmp/set.out | uniq -c | head; exit 1; }
       [ "$(redis-cli DBSIZE)" = ${keys} ] || { echo "DBSIZE is $(redis-cli DBSIZE), not ${keys}"; exit 1; }`,
      'redis',
    );
    await sh(node, 'SAVE', `[ "$(redis-cli SAVE)" = OK ] || { echo "SAVE failed"; tail -n 20 /tmp/redis.log; exit 1; }`, 'redis');
    if (options.aof) {
      await sh(
        node,
        'BGREWRITEAOF',
        `redis-cli BGREWRITEAOF
         for i in $(seq 1 300); do
           info=$(redis-cli INFO persistence | tr -d '\\r')
           echo "$info" | grep -q '^aof_rewrite_in_progress:0$' && echo "$info" | grep -q '^aof_rewrite_scheduled:0$' \\
             && echo "$info" | grep -q '^aof_last_bgrewrite_status:ok$' && exit 0
           sleep 0.1
         done
         echo "the AOF rewrite did not finish within 30 s"; redis-cli INFO persistence; tail -n 20 /tmp/redis.log; exit 1`,
        'redis',
      );
    }
    await sh(
      node,
      'SHUTDOWN SAVE',
      `redis-cli SHUTDOWN SAVE >/dev/null 2>&1 || true
       for i in $(seq 1 100); do pgrep -x redis-server >/dev/null || exit 0; sleep 0.1; done
       echo "redis-server still runs 10 s after SHUTDOWN SAVE"; tail -n 20 /tmp/redis.log; exit 1`,
      'redis',
    );
  }));
  return { dir, keys, lastKey: `key:${keys}` };
}

/**
 * sha256 over a tree's files: each file's path relative to `dir` and its contents, in sorted path
 * order (directories only through the files in them). A test helper, not the product's checksum.
 */
export async function hashTree(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(createHash('sha256').update(readFileSync(join(dir, file))).digest('hex'));
    hash.update('\n');
  }
  return hash.digest('hex');
}

// ---------------------------------------------------------------------------------------------

function checkCounts(rowsBefore: number, rowsAfter: number, segmentsAfter: number): void {
  for (const [name, n] of Object.entries({ rowsBefore, rowsAfter, segmentsAfter })) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not ${n}`);
  }
  // Each switch must follow some rows, or it switches nothing (and the last chunk holds the last commit).
  if (segmentsAfter > 0 && rowsAfter < segmentsAfter + 1) {
    throw new Error(`rowsAfter (${rowsAfter}) must be at least segmentsAfter + 1 (${segmentsAfter + 1}): each WAL switch needs rows before it`);
  }
}

/** A fresh host directory the container's users can write (0777), on a path that needs no quoting. */
function hostDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // The paths go unquoted into archive_command and pgbackrest.conf, as users write them.
  if (!/^[A-Za-z0-9/._-]+$/.test(dir)) throw new Error(`the temporary directory ${dir} has characters archive_command would need quoted: set TMPDIR to a plain path`);
  chmodSync(dir, 0o777);
  return dir;
}

/** Runs `make`; when it fails, removes `dir` (the caller never learns of it) before passing the error on. */
async function removingOnFailure<T>(dir: string, make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Single-quotes a word for bash. */
function q(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Starts a node container of `image` with `dir` bind-mounted at the same path, runs `body`, then
 * (whatever happened) hands the files to the host user, readable by everyone, and removes the container.
 */
async function withNode<T>(image: string, dir: string, body: (node: StartedTestContainer) => Promise<T>): Promise<T> {
  const node = await new GenericContainer(image)
    .withBindMounts([{ source: dir, target: dir, mode: 'rw' }])
    .withLabels({ 'faultline.test': 'user-backups' })
    .withWaitStrategy(Wait.forLogMessage(READY))
    .withStartupTimeout(60_000)
    .start();
  let failed = false;
  try {
    return await body(node);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    try {
      const uid = process.getuid?.() ?? 0;
      const gid = process.getgid?.() ?? 0;
      await sh(node, 'hand the files to the host user', `chown -R ${uid}:${gid} ${q(dir)} && chmod -R a+rX ${q(dir)}`, 'root');
    } catch (error) {
      if (!failed) throw error;
    } finally {
      await node.stop({ remove: true, timeout: 5_000 });
    }
  }
}

/** Runs a bash script in the node (as `user`, default postgres) under a time limit; throws naming the step with its output. */
async function sh(node: StartedTestContainer, step: string, script: string, user = 'postgres', env: Record<string, string> = {}): Promise<string> {
  const result = await node.exec(['timeout', '--kill-after=5', String(STEP_SECONDS), 'bash', '-c', `set -euo pipefail\n${script}`], { user, env });
  if (result.exitCode !== 0) {
    const why = result.exitCode === 124 ? `did not finish within ${STEP_SECONDS} s` : `failed (exit ${result.exitCode})`;
    throw new Error(`${step} ${why}:\n${result.output.trim()}`);
  }
  return result.stdout.trim();
}

/**
 * SQL through psql on the local socket, read from stdin so that each statement is its own transaction
 * (`psql -c` would run them all in one); returns the unaligned output.
 */
function psql(node: StartedTestContainer, port: number, step: string, sql: string): Promise<string> {
  return sh(node, step, `printf '%s\\n' "$SQL" | psql -X -A -t -q -v ON_ERROR_STOP=1 -p ${port} -d postgres -f -`, 'postgres', { SQL: sql });
}

/** initdb (data checksums) into `data` in the container, with WAL archiving settings the caller gives. */
async function initCluster(node: StartedTestContainer, data: string, port: number, settings: string[]): Promise<void> {
  const conf = [
    `port = ${port}`,
    `listen_addresses = ''`,
    `wal_level = replica`,
    `track_commit_timestamp = on`,
    ...settings,
  ];
  await sh(
    node,
    `initdb ${data}`,
    `initdb -D ${q(data)} --data-checksums -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >/tmp/initdb.log 2>&1 || { cat /tmp/initdb.log; exit 1; }
     cat >>${q(join(data, 'postgresql.conf'))} <<'EOF'
${conf.join('\n')}
EOF`,
  );
}

function serverLog(data: string): string {
  return `/tmp/${data.replaceAll('/', '_')}.log`;
}

async function startServer(node: StartedTestContainer, data: string): Promise<void> {
  const log = serverLog(data);
  await sh(node, `start PostgreSQL on ${data}`, `pg_ctl -D ${q(data)} -l ${log} -w -t 60 start >/dev/null || { tail -n 30 ${log}; exit 1; }`);
}

async function stopServer(node: StartedTestContainer, data: string): Promise<void> {
  const log = serverLog(data);
  await sh(node, `stop PostgreSQL on ${data}`, `pg_ctl -D ${q(data)} -m fast -w -t 60 stop >/dev/null || { tail -n 30 ${log}; exit 1; }`);
}

async function createTable(node: StartedTestContainer, port: number): Promise<void> {
  await psql(node, port, `create table ${TABLE}`, `CREATE TABLE ${TABLE} (id integer PRIMARY KEY, item text NOT NULL, amount integer NOT NULL)`);
}

/** Inserts rows first..last (ids) in `transactions` transactions of about equal size. */
async function insertRows(node: StartedTestContainer, port: number, first: number, last: number, transactions: number): Promise<void> {
  const count = last - first + 1;
  if (count <= 0) return;
  const statements: string[] = [];
  let from = first;
  for (let t = 0; t < transactions; t++) {
    const size = Math.floor(count / transactions) + (t < count % transactions ? 1 : 0);
    if (size === 0) continue;
    statements.push(`INSERT INTO ${TABLE} SELECT g, 'item-' || g, g * 10 FROM generate_series(${from}, ${from + size - 1}) g;`);
    from += size;
  }
  await psql(node, port, `insert rows ${first}..${last}`, statements.join('\n'));
}

/**
 * After the backup: rowsAfter rows in segmentsAfter + 1 chunks, a WAL switch after each but the last;
 * then the facts of the last commit, a final switch, and a wait until the archiver has that segment.
 */
async function afterBackup(
  node: StartedTestContainer,
  port: number,
  rowsBefore: number,
  rowsAfter: number,
  segmentsAfter: number,
): Promise<{ lastCommitAt: Date; lastCommitAtExact: string; lastLsn: string }> {
  const chunks = segmentsAfter + 1;
  let from = rowsBefore + 1;
  for (let c = 0; c < chunks; c++) {
    const size = Math.floor(rowsAfter / chunks) + (c < rowsAfter % chunks ? 1 : 0);
    await insertRows(node, port, from, from + size - 1, 1);
    from += size;
    if (c < chunks - 1) await psql(node, port, `WAL switch ${c + 1} of ${segmentsAfter} after the backup`, 'SELECT pg_switch_wal()');
  }
  const total = rowsBefore + rowsAfter;
  // The commit time of the last row's transaction (track_commit_timestamp), then the WAL position after it.
  const facts = await psql(
    node,
    port,
    'read the last commit',
    `SELECT to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || ' ' || pg_current_wal_lsn() || ' ' || (SELECT count(*) FROM ${TABLE})
       FROM ${TABLE} ORDER BY id DESC LIMIT 1`,
  );
  const [exact, lastLsn, count] = facts.split(' ');
  if (!exact || !lastLsn || Number(count) !== total) throw new Error(`read the last commit: expected ${total} rows, got '${facts}'`);
  const segment = await psql(node, port, 'final WAL switch', 'SELECT pg_walfile_name(pg_switch_wal())');
  await sh(
    node,
    `wait until ${segment} is archived`,
    `for i in $(seq 1 600); do
       s=$(psql -X -A -t -q -p ${port} -d postgres -c "SELECT coalesce(last_archived_wal, '') || '|' || failed_count || '|' || coalesce(last_failed_wal, '') FROM pg_stat_archiver")
       IFS='|' read -r archived failed lastfailed <<<"$s"
       if [ -n "$archived" ] && [[ ! "$archived" < ${q(segment)} ]]; then exit 0; fi
       sleep 0.1
     done
     echo "pg_stat_archiver after 60 s: last archived '\${archived:-}', $failed failed (last '\${lastfailed:-}')"
     tail -n 20 /tmp/*.log 2>/dev/null || true
     exit 1`,
  );
  return { lastCommitAt: new Date(exact), lastCommitAtExact: exact, lastLsn };
}

/** The segments in a pgBackRest archive (<archive>/<pg-version>-<n>/<first 16>/<segment>-<sha1>[.ext]), sorted. */
function archivedInRepo(archive: string): string[] {
  return readdirSync(archive, { recursive: true })
    .map((f) => String(f).split('/').at(-1)!)
    .filter((f) => /^[0-9A-F]{24}-[0-9a-f]{40}/.test(f))
    .map((f) => f.slice(0, 24))
    .sort();
}
