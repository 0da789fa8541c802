// `faultline prove-backup` for PostgreSQL: the user's backup restored into a scratch node, then each
// thing the checks judge read back from the server itself: a read and a write, where replay stopped,
// the last restored commit, the server's own verification tools, and the user's own queries.

import { timed } from '../../../cluster/scratch-node.ts';
import type { InspectedBackup, ProveContext, ProveEvidence, ToolReading, UserCheckResult } from '../../../cluster/prove-ability.ts';
import { judgeSqlCheck, parseSqlChecks } from '../../../prove/user-checks.ts';
import { PGDATA } from '../postgres-node.ts';
import { readPgAmcheck, readPgBackRestVerify, readPgChecksums } from '../verification.ts';
import { restoreWithBarman, verifyBarmanRestore } from './barman-restore.ts';
import { BASE_MOUNT, WAL_MOUNT, type BaseLayout } from './inspect.ts';
import { readReached, replay } from './replay.ts';
import { s3Listing, type S3Repo } from './s3.ts';
import { fetchBaseBackup, lastLines, prepareBaseRecovery, toolReading, restoreWithPgBackRest, RestoreFailed, verifyAgainstManifest } from './restore.ts';
import { startScratch, type ScratchNode } from './scratch.ts';

/** The files a WAL archive holds, by name (listed in the scratch node, where it is mounted read-only). */
async function heldWal(scratch: ScratchNode, backup: InspectedBackup): Promise<string[] | undefined> {
  if (backup.source.kind === 'pgbackrest') {
    const { repoPath, stanza, s3 } = backup.details as { repoPath: string; stanza: string; s3?: S3Repo };
    // A bucket is listed from here, object by object, with the user's key (as inspection read it).
    if (s3) return (await s3Listing({ ...s3, prefix: `${s3.prefix ? `${s3.prefix}/` : ''}archive/${stanza}` })).entries.map((e) => e.path.split('/').at(-1)!);
    const found = await scratch.node.exec(['bash', '-c', `find "${repoPath}/archive/${stanza}" -type f -printf '%f\\n' 2>/dev/null`]);
    return found.stdout.split('\n').filter(Boolean);
  }
  if (backup.source.kind === 'barman') {
    // wals/<timeline+log>/<segment> as Barman stores them (compressed or not, same names), and its xlog.db.
    const { walsDirectory } = backup.details as { walsDirectory: string };
    return (await scratch.node.exec(['find', walsDirectory, '-type', 'f', '-printf', '%f\\n'])).stdout.split('\n').filter(Boolean);
  }
  if (!backup.source.options.wal) return undefined;
  return (await scratch.node.exec(['ls', '-1', WAL_MOUNT])).stdout.split('\n').filter(Boolean);
}

/** Checks the user's SQL checks file: a ConfigError names the line. */
export function parsePostgresChecks(text: string, file: string): number {
  return parseSqlChecks(text, file).length;
}

export async function provePostgres(backup: InspectedBackup, image: string, context: ProveContext): Promise<ProveEvidence> {
  const { phases } = context;
  const evidence: ProveEvidence = { version: '', image, started: false, integrity: [], phases, mounts: [], notes: [] };
  context.log('starting the scratch node (its own volume, your backups read-only, no network)');
  const { scratch, mounts, notes } = await startScratch(backup, image, context);
  evidence.mounts = mounts;
  evidence.notes.push(...notes);
  const layout = (backup.details as { layout?: BaseLayout }).layout;
  try {
    if (backup.source.kind === 'pgbackrest') {
      context.log(`restoring backup ${backup.backup.label} with pgbackrest restore (your pgbackrest.conf, the scratch node's paths)`);
      evidence.notes.push(...(await timed(phases, 'restore', () => restoreWithPgBackRest(scratch, backup, context))));
    } else if (backup.source.kind === 'barman') {
      context.log(`restoring backup ${backup.backup.label} with barman recover (your barman.conf, the scratch node's lock and log paths)`);
      evidence.notes.push(...(await timed(phases, 'restore', () => restoreWithBarman(scratch, backup, context))));
      evidence.integrity.push(await timed(phases, 'checks', () => verifyBarmanRestore(scratch, backup)));
    } else {
      context.log(`fetching base backup ${backup.backup.label} (${layout!.format})`);
      await timed(phases, 'fetch', () => fetchBaseBackup(scratch, layout!, backup.bytes, context.log));
      // Before the server touches the files: they are then the backup as it was taken.
      const wal = (backup.details as { wal?: { suffixes: string[] } }).wal;
      const uncompressed = wal !== undefined && wal.suffixes.every((suffix) => suffix === '');
      evidence.integrity.push(await timed(phases, 'checks', () => verifyAgainstManifest(scratch, layout!, uncompressed)));
      evidence.notes.push(...(await timed(phases, 'restore', () => prepareBaseRecovery(scratch, context.target, backup.source.options.wal !== undefined))));
    }
  } catch (error) {
    if (!(error instanceof RestoreFailed)) throw error;
    evidence.startError = error.message;
    return evidence;
  }
  const held = await heldWal(scratch, backup);
  context.log('starting the restored server: replaying WAL to the target, then promoting');
  const outcome = await timed(phases, 'replay', () => replay(scratch, context, held?.length));
  if (!outcome.started) {
    evidence.startError = outcome.error;
    return evidence;
  }
  evidence.started = true;
  await timed(phases, 'checks', async () => {
    evidence.version = (await scratch.sql('SELECT version()')).out.split(' on ')[0] ?? '';
    const read = await scratch.sql('SELECT count(*) FROM pg_database WHERE datallowconn');
    evidence.read = read.ok ? { ok: true, detail: `${read.out} databases accept connections` } : { ok: false, detail: read.err };
    const write = await scratch.sql('BEGIN READ WRITE; CREATE TABLE faultline_prove_write (at timestamptz); INSERT INTO faultline_prove_write VALUES (now()); COMMIT; SELECT count(*) FROM faultline_prove_write');
    evidence.write = write.ok && write.out.endsWith('1') ? { ok: true, detail: 'a table created and a row committed in database postgres' } : { ok: false, detail: write.err || write.out };
    evidence.reached = await readReached(scratch, held, context.target);
    evidence.freshness = await freshness(scratch, backup, evidence.reached.lastCommitAt);
    if (context.checks) evidence.userChecks = await userChecks(scratch, context.checks);
    context.log('verifying: pg_amcheck on every database, then pg_checksums with the server stopped');
    evidence.integrity.push(await amcheck(scratch));
    if (backup.source.kind === 'pgbackrest') evidence.integrity.push(await pgbackrestVerify(scratch, backup));
    evidence.integrity.push(await checksums(scratch));
  });
  return evidence;
}

/** The last restored commit's time; without one, the backup's stop time, else the newest restored segment's. */
async function freshness(scratch: ScratchNode, backup: InspectedBackup, lastCommitAt: string | undefined): Promise<ProveEvidence['freshness']> {
  if (lastCommitAt) return { at: lastCommitAt, by: 'last-commit', detail: 'pg_last_xact_replay_timestamp()' };
  if (backup.backup.stoppedAt) return { at: backup.backup.stoppedAt, by: 'backup-stop', detail: `backup ${backup.backup.label}` };
  // pg_basebackup's backup history file (.backup) in the archive says when the backup stopped.
  const stop = await scratch.node.exec(['bash', '-c', `f=$(ls -1 ${WAL_MOUNT}/*.backup* 2>/dev/null | sort | tail -n 1); [ -n "$f" ] && { case "$f" in *.gz) gzip -dc "$f";; *.lz4) lz4 -dcq "$f";; *) cat "$f";; esac; } | sed -n 's/^STOP TIME: //p'`]);
  const stopped = Date.parse(stop.stdout.trim().replace(' ', 'T').replace(/ ?([A-Z]{3,4})$/, 'Z'));
  if (!Number.isNaN(stopped)) return { at: new Date(stopped).toISOString(), by: 'backup-stop', detail: 'STOP TIME in the backup history file' };
  const dir = backup.source.options.wal ? WAL_MOUNT : BASE_MOUNT;
  const newest = await scratch.node.exec(['bash', '-c', `stat -c %Y ${dir}/* | sort -n | tail -n 1`]);
  const seconds = Number(newest.stdout.trim());
  if (Number.isFinite(seconds) && seconds > 0) return { at: new Date(seconds * 1000).toISOString(), by: 'newest-segment', detail: 'the modification time of the newest file in the backups' };
  return undefined;
}

/** Each of the user's queries, in its database, judged one by one (a query's error is its failure, not the proof's). */
async function userChecks(scratch: ScratchNode, checks: NonNullable<ProveContext['checks']>): Promise<UserCheckResult[]> {
  const results: UserCheckResult[] = [];
  for (const check of parseSqlChecks(checks.text, checks.file)) {
    const described = await scratch.sql(`${check.text}\n\\gdesc`, { database: check.database, csv: true, input: true });
    const ran = described.ok ? await scratch.sql(check.text, { database: check.database, csv: true, input: true }) : described;
    let verdict;
    if (!ran.ok) verdict = judgeSqlCheck({ error: lastLines(ran.err, 2) });
    else {
      const types = csvRows(described.out).map((row) => row[1] ?? '');
      const rows = csvRows(ran.out).map((row) => row.map((v, i) => (types[i] === 'boolean' ? (v === 't' ? true : v === 'f' ? false : null) : v === '' ? null : v)));
      verdict = judgeSqlCheck({ fields: types.map((t, i) => ({ name: `column ${i + 1}`, dataTypeID: t === 'boolean' ? 16 : 25, typeName: t })), rows });
    }
    results.push({ index: check.index, line: check.line, where: `database ${check.database}`, text: check.text, ok: verdict.ok, why: verdict.why });
  }
  return results;
}

/** psql's CSV output as rows of fields (quoted fields may hold commas, quotes and newlines). */
export function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    any = true;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n') row.push(field), rows.push(row), (row = []), (field = ''), (any = false);
    else field += c;
  }
  if (any) row.push(field), rows.push(row);
  return rows;
}

/** pg_amcheck on every database, heap and B-tree indexes (amcheck installed where missing: the scratch copy only). */
async function amcheck(scratch: ScratchNode): Promise<ToolReading> {
  const record = await scratch.node.exec(['pg_amcheck', '--all', '--heapallindexed', '--install-missing', '-h', '/run/postgresql', '-U', scratch.role], { timeoutMs: 24 * 3600_000 });
  const output = `${record.stdout}${record.stderr}`.trim();
  const reading = readPgAmcheck(record.exitCode, output);
  return toolReading('pg_amcheck', reading, output, 'every table and B-tree index of every database', 3);
}

/** pgbackrest verify of the restored backup set and its WAL, read-only on the repository. */
async function pgbackrestVerify(scratch: ScratchNode, backup: InspectedBackup): Promise<ToolReading> {
  const { stanza } = backup.details as { stanza: string };
  const record = await scratch.node.exec(['pgbackrest', `--stanza=${stanza}`, `--set=${backup.backup.label}`, '--output=text', 'verify'], { timeoutMs: 24 * 3600_000 });
  const output = `${record.stdout}${record.stderr}`.trim();
  const reading = readPgBackRestVerify(record.exitCode, output);
  return toolReading('pgbackrest verify', reading, output, `backup ${backup.backup.label} and its WAL`, 3);
}

/** pg_checksums --check on the restored data directory, with the server stopped cleanly first. */
async function checksums(scratch: ScratchNode): Promise<ToolReading> {
  const enabled = await scratch.sql('SHOW data_checksums');
  if (enabled.ok && enabled.out === 'off') return { tool: 'pg_checksums', verdict: 'skipped', detail: 'data checksums are off in this cluster' };
  const stop = await scratch.node.exec(['pg_ctl', 'stop', '-D', PGDATA, '-m', 'fast', '-w', '-t', '300']);
  if (stop.exitCode !== 0) return { tool: 'pg_checksums', verdict: 'unknown', detail: `the server did not stop cleanly for it: ${lastLines(`${stop.stderr}${stop.stdout}`)}` };
  const record = await scratch.node.exec(['pg_checksums', '--check', '-D', PGDATA], { timeoutMs: 24 * 3600_000 });
  const output = `${record.stdout}${record.stderr}`.trim();
  const reading = readPgChecksums(record.exitCode, output);
  return toolReading('pg_checksums', reading, output, 'every block of the restored data directory', 3);
}

