// PostgreSQL's silent-corruption kinds: which bytes of which file each damages (table heap or index
// blocks the workload no longer writes, recent WAL, pg_control), and how to tell that the damage
// took effect once the server read it back.

import { PGDATA, type PostgresNodeHandle } from './postgres-node.ts';
import { compareLsn } from './wal.ts';
import type { Random } from '../../random.ts';
import { damageAt, damageStillThere, overwriteScript, type Damage } from '../../cluster/damage.ts';
import type { Corruption, CorruptionOptions } from '../../cluster/engine.ts';
import { LEDGER_TABLE } from './client.ts';

export const POSTGRES_CORRUPTION_KINDS = ['heap', 'index', 'wal', 'pg_control'] as const;

const BLOCK = 8192;
const LOG = '/var/log/faultline/postgresql.log';

interface Target {
  file: string;
  offsets: number[];
  /** For WAL: where the WAL ended when it was damaged, and where the damage begins. */
  walEnd?: string;
  damageLsn?: string;
  /** For table and index blocks: the relation they belong to. */
  relation?: string;
}

async function heapOrIndex(node: PostgresNodeHandle, relation: string, count: number, bytes: number, random: Random, skipFirst: boolean): Promise<Target> {
  // Hint bits first: with data checksums, the first read of a tuple after its commit sets them and
  // dirties the page, and a running server writes it back over the damage (evict 'none'). A
  // freezing VACUUM sets them all now, before the checkpoint.
  if (!skipFirst) await node.psql(`VACUUM (FREEZE) ${relation}`);
  // Dirty pages reach disk first, so that what is overwritten is what the server will read back.
  await node.psql('CHECKPOINT');
  const file = `${PGDATA}/${await node.psql(`SELECT pg_relation_filepath('${relation}')`)}`;
  const size = Number((await node.run(['stat', '-c', '%s', file])).stdout.trim());
  const first = skipFirst ? 1 : 0;
  // Leave the last two blocks alone: the workload is still filling them, and a fresh write would
  // cover the damage before anyone could read it.
  const last = Math.floor(size / BLOCK) - 2;
  if (last <= first) throw new Error(`${relation} on ${node.name} has only ${Math.floor(size / BLOCK)} blocks: nothing old enough to corrupt yet`);
  // Only blocks nothing changed since the checkpoint: one changed since then is dirty in shared
  // buffers, and a running server (evict 'none') writes it back over the damage. (With a restart,
  // corruptPostgres stops the server cleanly before it damages anything, so no crash recovery
  // replays full-page images over the damage either.) When every old block changed (a workload
  // rewriting its rows), any will do: the effect check then reports what was overwritten.
  const untouched = await untouchedSinceCheckpoint(node, relation, first, last);
  const candidates = untouched.length > 0 ? untouched : Array.from({ length: last - first }, (_, i) => first + i);
  const blocks = new Set<number>();
  while (blocks.size < Math.min(count, candidates.length)) blocks.add(candidates[Math.floor(random() * candidates.length)]!);
  const offsets = [...blocks].sort((a, b) => a - b).map((block) => block * BLOCK + 64 + Math.floor(random() * (BLOCK - 64 - bytes)));
  return { file, offsets, relation };
}

/** Blocks in [from, to) whose page LSN (as shared buffers hold it) is before the last checkpoint's redo point (pageinspect, from contrib). */
async function untouchedSinceCheckpoint(node: PostgresNodeHandle, relation: string, from: number, to: number): Promise<number[]> {
  // The harness's own commit must not wait for synchronous standbys (one may be gone by now): local.
  await node.psql('SET synchronous_commit = local; CREATE EXTENSION IF NOT EXISTS pageinspect');
  const rows = await node.psql(
    `SELECT b FROM generate_series(${from}, ${to - 1}) b WHERE (page_header(get_raw_page('${relation}', b::int))).lsn < (SELECT redo_lsn FROM pg_control_checkpoint()) ORDER BY b`,
  );
  return rows.split('\n').filter(Boolean).map(Number);
}

async function wal(node: PostgresNodeHandle, count: number, bytes: number, random: Random): Promise<Target> {
  const row = await node.psql("SELECT file_name || ' ' || file_offset || ' ' || pg_current_wal_flush_lsn() FROM pg_walfile_name_offset(pg_current_wal_flush_lsn())");
  const [name, end, walEnd] = row.split(' ') as [string, string, string];
  const from = Math.max(0, Number(end) - 256 * 1024);
  if (Number(end) - from < bytes * 2) throw new Error(`the current WAL segment on ${node.name} holds too little to corrupt yet`);
  const offsets = Array.from({ length: count }, () => from + Math.floor(random() * (Number(end) - from - bytes))).sort((a, b) => a - b);
  // The LSN of the first damaged byte: the flush position moved back by what lies after it.
  const damageLsn = await node.psql(`SELECT '${walEnd}'::pg_lsn - ${Number(end) - offsets[0]!}`);
  return { file: `${PGDATA}/pg_wal/${name}`, offsets, walEnd, damageLsn };
}

/**
 * Did the damage take effect? For table, index and pg_control files: some damaged place still
 * holds the garbage after the restart (crash recovery restores pages from full-page images in the
 * WAL and can overwrite it). For WAL: crash recovery stopped at or before the damage, so the WAL
 * after it, and the commits in it, are gone; or the server did not start at all.
 */
async function effect(node: PostgresNodeHandle, kind: string, place: Target, places: Damage[], restarted: boolean | undefined, logFrom: number): Promise<string | undefined> {
  if (restarted === false) return undefined; // it does not start: the damage is what stops it
  if (kind === 'wal') {
    if (restarted === undefined) return undefined; // still on disk; the server reads it at its next restart
    const log = (await node.exec(['bash', '-c', `tail -c +${logFrom + 1} ${LOG}`])).stdout;
    const redo = /redo done at ([0-9A-F]+\/[0-9A-F]+)/.exec(log)?.[1];
    if (!redo) return `crash recovery replayed no WAL after the restart (${/redo is not required/.test(log) ? 'redo was not required' : 'no "redo done" in the log'}), so the damaged WAL was never read`;
    if (compareLsn(redo, place.walEnd!) >= 0) return `crash recovery replayed up to ${redo}, past the damage (from ${place.damageLsn}) to the WAL's end at ${place.walEnd}: the damage did not cut the WAL`;
    return undefined;
  }
  const there = await damageStillThere(node, place.file, places);
  if (there === 0) return `none of the ${places.length} damaged place(s) of ${place.file} holds the garbage any more${restarted ? `: the restarted server overwrote them${await overwriteEvidence(node, place, logFrom)}` : ''}`;
  return undefined;
}

/**
 * What the server says of damaged blocks it overwrote: each block's page LSN against the restart's
 * checkpoint (after it: a change logged since the restart; before it: an old image written back),
 * and what its log said of recovery, checksums or invalid pages since the restart. Best effort.
 */
async function overwriteEvidence(node: PostgresNodeHandle, place: Target, logFrom: number): Promise<string> {
  if (!place.relation) return '';
  const blocks = [...new Set(place.offsets.map((o) => Math.floor(o / BLOCK)))];
  const lsns = await node
    .psql(`SELECT string_agg(b || ' at ' || (page_header(get_raw_page('${place.relation}', b))).lsn, ', ') || '; checkpoint redo ' || (SELECT redo_lsn FROM pg_control_checkpoint()) FROM unnest(ARRAY[${blocks.join(',')}]) b`)
    .catch((error: unknown) => `page LSNs unreadable: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  const log = (await node.exec(['bash', '-c', `tail -c +${logFrom + 1} ${LOG} | grep -E 'not properly shut down|redo |checksum|invalid page|PANIC|FATAL' | head -3`])).stdout.trim();
  return ` (block LSNs: ${lsns}${log ? `; log since the restart: ${log.split('\n').join(' / ')}` : ''})`;
}

/**
 * Overwrites seeded bytes in one kind of file of the node's data directory, behind the server's
 * back; then, when `evict`, restarts the server without a shutdown checkpoint so that it reads the
 * damage back from disk, and proves the damage took effect (read back from the file, or from where
 * crash recovery stopped), or says why it did not.
 */
export async function corruptPostgres(node: PostgresNodeHandle, { kind, places: count, bytes, evict, random, table = LEDGER_TABLE }: CorruptionOptions): Promise<Corruption> {
  let place: Target;
  if (kind === 'heap') place = await heapOrIndex(node, table, count, bytes, random, false);
  else if (kind === 'index') place = await heapOrIndex(node, `${table}_pkey`, count, bytes, random, true);
  else if (kind === 'wal') place = await wal(node, count, bytes, random);
  else if (kind === 'pg_control') place = { file: `${PGDATA}/global/pg_control`, offsets: [8 + Math.floor(random() * 200)] };
  else throw new Error(`PostgreSQL has no corruption kind '${kind}' (it has ${POSTGRES_CORRUPTION_KINDS.join(', ')})`);

  const places = damageAt(place.offsets, bytes, random);
  // Table and index blocks are damaged while the server is cleanly stopped: a crash restart would
  // replay full-page images over them (a hint bit or a vacuum is enough to log one), and the damage
  // would never be read. The WAL and pg_control are damaged under the running server, which then
  // crashes, since crash recovery is what reads them.
  const cleanStop = evict && (kind === 'heap' || kind === 'index');
  if (cleanStop) await node.run(['fl-pg', 'stop', 'fast']);
  await node.run(['bash', '-c', overwriteScript(place.file, places)], { user: 'root' });
  let detail = `overwrote ${bytes} bytes at ${place.offsets.length} place(s) of ${place.file} on ${node.name} (offsets ${place.offsets.join(', ')})${cleanStop ? ' while its server was stopped' : ''}`;
  let restarted: boolean | undefined;
  let logFrom = 0;
  if (evict) {
    logFrom = Number((await node.exec(['stat', '-c', '%s', LOG])).stdout.trim()) || 0;
    if (!cleanStop) await node.exec(['fl-pg', 'stop', 'immediate']);
    const started = await node.exec(['fl-pg', 'start']);
    restarted = started.exitCode === 0;
    if (!restarted && node.lost) return { detail: `${detail}; the node was lost (its domain) while the server restarted, so nothing read the damage back` };
    detail += restarted ? '; server restarted' : `; server does not start again: ${started.stderr.trim().split('\n').slice(-3).join(' ')}`;
  }
  let noEffect: string | undefined;
  try {
    noEffect = await effect(node, kind, place, places, restarted, logFrom);
  } catch (error) {
    // The node's failure domain was lost while the damage was being read back (the Sidekick drills
    // lose the SAN right after): the damage was written and the server restarted on it, but nothing
    // can read it back now. Any other failure to read it back is the fault's own failure.
    if (!node.lost) throw error;
    return { detail: `${detail}; the node was lost (its domain) before the damage could be read back` };
  }
  return { detail, ...(noEffect ? { noEffect } : {}) };
}
