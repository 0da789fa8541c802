// A real Barman catalogue made the way users make one, for the integration test of `faultline
// prove-backup --barman-conf`: PostgreSQL and Barman in one throwaway container of faultline's node
// image, WAL archived by archive_command into Barman's incoming directory and `barman archive-wal`,
// a `barman backup` (backup_method postgres: pg_basebackup), rows and WAL switches after it archived
// too. barman.conf, the server's file and barman_home are left on a host directory (bind-mounted at
// the same path), as a user has them on their Barman host.

import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { postgresImage } from '../../harness/engines/postgres/image.ts';

export interface MadeBarmanCatalogue {
  dir: string;
  /** barman.conf (global section; configuration_files_directory names the server's file). */
  conf: string;
  server: string;
  barmanHome: string;
  backupId: string;
  rows: number;
  /** Commit time of the last committed transaction, to the millisecond (rounded down). */
  lastCommitAt: Date;
  /** Archived segments in barman_home/<server>/wals (24 hex digits), sorted. */
  walSegments: string[];
}

const SERVER = 'pg';
const PORT = 5432;
const DATA = '/var/lib/postgresql/cluster';
const STEP_SECONDS = 120;

export async function makeBarmanCatalogue(options: { rowsBefore?: number; rowsAfter?: number; segmentsAfter?: number } = {}): Promise<MadeBarmanCatalogue> {
  const rowsBefore = options.rowsBefore ?? 100;
  const rowsAfter = options.rowsAfter ?? 100;
  const segmentsAfter = options.segmentsAfter ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'faultline-barman-'));
  if (!/^[A-Za-z0-9/._-]+$/.test(dir)) throw new Error(`the temporary directory ${dir} needs quoting: set TMPDIR to a plain path`);
  chmodSync(dir, 0o777);
  const barmanHome = join(dir, 'barman');
  const conf = join(dir, 'barman.conf');
  const incoming = join(barmanHome, SERVER, 'incoming');
  try {
    mkdirSync(join(dir, 'barman.d'));
    writeFileSync(conf, ['[barman]', `barman_home = ${barmanHome}`, 'barman_user = postgres', `configuration_files_directory = ${join(dir, 'barman.d')}`, 'log_file = /tmp/barman.log', 'log_level = INFO', 'compression = gzip', ''].join('\n'));
    writeFileSync(join(dir, 'barman.d', `${SERVER}.conf`), [
      `[${SERVER}]`,
      'description = "faultline test cluster"',
      `conninfo = host=/var/run/postgresql port=${PORT} user=postgres dbname=postgres`,
      `streaming_conninfo = host=/var/run/postgresql port=${PORT} user=postgres`,
      'backup_method = postgres',
      'archiver = on',
      'immediate_checkpoint = true',
      '',
    ].join('\n'));
    const node = await new GenericContainer(await postgresImage(17))
      .withBindMounts([{ source: dir, target: dir, mode: 'rw' }])
      .withLabels({ 'faultline.test': 'user-backups' })
      .withWaitStrategy(Wait.forLogMessage('faultline-node: ready'))
      .withStartupTimeout(60_000)
      .start();
    try {
      const barman = (args: string) => `barman -c ${conf} ${args}`;
      await sh(node, 'initdb and start', `mkdir -p ${incoming} ${join(barmanHome, SERVER, 'streaming')}
        initdb -D ${DATA} --data-checksums -U postgres --auth=trust --locale=C --no-sync >/tmp/initdb.log 2>&1 || { cat /tmp/initdb.log; exit 1; }
        printf '%s\\n' "port = ${PORT}" "listen_addresses = ''" "wal_level = replica" "track_commit_timestamp = on" "archive_mode = on" \\
          "archive_command = 'test ! -f ${incoming}/%f && cp %p ${incoming}/%f'" >> ${DATA}/postgresql.conf
        pg_ctl -D ${DATA} -l /tmp/pg.log -w -t 60 start >/dev/null || { tail -n 30 /tmp/pg.log; exit 1; }`);
      await psql(node, `CREATE TABLE orders (id integer PRIMARY KEY, item text NOT NULL, amount integer NOT NULL);
        INSERT INTO orders SELECT g, 'item-' || g, g * 10 FROM generate_series(1, ${rowsBefore}) g;`);
      await switchAndArchive(node, barman, incoming);
      await sh(node, 'barman backup', `${barman(`backup ${SERVER}`)}`);
      await switchAndArchive(node, barman, incoming);
      const chunks = segmentsAfter + 1;
      let from = rowsBefore + 1;
      for (let c = 0; c < chunks; c++) {
        const size = Math.floor(rowsAfter / chunks) + (c < rowsAfter % chunks ? 1 : 0);
        await psql(node, `INSERT INTO orders SELECT g, 'item-' || g, g * 10 FROM generate_series(${from}, ${from + size - 1}) g;`);
        from += size;
        if (c < chunks - 1) await psql(node, 'SELECT pg_switch_wal();');
      }
      const exact = await psql(node, `SELECT to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM orders ORDER BY id DESC LIMIT 1;`);
      await switchAndArchive(node, barman, incoming);
      // What a user's cron does every minute: the backup turns DONE once the WAL it needs is archived.
      await sh(node, 'barman cron', barman('cron'));
      await sh(node, 'stop PostgreSQL', `pg_ctl -D ${DATA} -m fast -w -t 60 stop >/dev/null`);
      const status = await sh(node, 'barman list-backups', barman(`list-backups ${SERVER}`));
      const backupId = readdirSync(join(barmanHome, SERVER, 'base')).sort().at(-1);
      if (!backupId || !status.includes(backupId) || /WAITING|FAILED/.test(status)) throw new Error(`barman made no DONE backup: ${status}`);
      const walSegments = readdirSync(join(barmanHome, SERVER, 'wals'), { recursive: true }).map((f) => String(f).split('/').at(-1)!).filter((f) => /^[0-9A-F]{24}$/.test(f)).sort();
      return { dir, conf, server: SERVER, barmanHome, backupId, rows: rowsBefore + rowsAfter, lastCommitAt: new Date(exact), walSegments };
    } finally {
      const uid = process.getuid?.() ?? 0;
      const gid = process.getgid?.() ?? 0;
      await sh(node, 'hand the files to the host user', `chown -R ${uid}:${gid} ${dir} && chmod -R a+rX ${dir}`, 'root').catch(() => {});
      await node.stop({ remove: true, timeout: 5_000 });
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A WAL switch, then waits until archive_command copied it into incoming, and `barman archive-wal` takes it in. */
async function switchAndArchive(node: StartedTestContainer, barman: (args: string) => string, incoming: string): Promise<void> {
  const segment = await psql(node, 'SELECT pg_walfile_name(pg_switch_wal());');
  await sh(node, `archive ${segment}`, `for i in $(seq 1 600); do
      a=$(psql -X -A -t -q -p ${PORT} -d postgres -c "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
      if [ -n "$a" ] && [[ ! "$a" < ${segment} ]]; then break; fi; sleep 0.1
    done
    ${barman(`archive-wal ${SERVER}`)}
    [ -z "$(ls -A ${incoming})" ] || { echo "incoming not emptied: $(ls ${incoming})"; exit 1; }`);
}

async function psql(node: StartedTestContainer, sql: string): Promise<string> {
  return sh(node, `psql: ${sql.slice(0, 60)}`, `printf '%s\\n' "$SQL" | psql -X -A -t -q -v ON_ERROR_STOP=1 -p ${PORT} -d postgres -f -`, 'postgres', { SQL: sql });
}

async function sh(node: StartedTestContainer, step: string, script: string, user = 'postgres', env: Record<string, string> = {}): Promise<string> {
  const result = await node.exec(['timeout', '--kill-after=5', String(STEP_SECONDS), 'bash', '-c', `set -euo pipefail\n${script}`], { user, env });
  if (result.exitCode !== 0) throw new Error(`${step} failed (exit ${result.exitCode}):\n${result.output.trim()}`);
  return result.stdout.trim();
}
