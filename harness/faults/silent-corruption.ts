import { PGDATA } from '../cluster/postgres/postgres-node.ts';
import type { PostgresNodeHandle } from '../cluster/postgres/postgres-node.ts';
import { compareLsn } from '../cluster/postgres/wal.ts';
import type { Random } from '../random.ts';
import { asRoot, damageAt, damageStillThere, overwriteScript, targetNode, type Damage } from './node-ops.ts';
import type { Fault } from './types.ts';

const BLOCK = 8192;
const LOG = '/var/log/faultline/postgresql.log';

interface Target {
  file: string;
  offsets: number[];
  /** For WAL: where the WAL ended when it was damaged, and where the damage begins. */
  walEnd?: string;
  damageLsn?: string;
}

async function heapOrIndex(node: PostgresNodeHandle, relation: string, count: number, bytes: number, random: Random, skipFirst: boolean): Promise<Target> {
  // Hint bits first: with data checksums, the first read of a tuple after its commit sets them and
  // logs a full-page image, which crash recovery then writes over the damage (seen in the false-
  // alarm benchmark). A freezing VACUUM sets them all now, before the checkpoint.
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
  const blocks = new Set<number>();
  while (blocks.size < Math.min(count, last - first)) blocks.add(first + Math.floor(random() * (last - first)));
  const offsets = [...blocks].sort((a, b) => a - b).map((block) => block * BLOCK + 64 + Math.floor(random() * (BLOCK - 64 - bytes)));
  return { file, offsets };
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
  if (there === 0) return `none of the ${places.length} damaged place(s) of ${place.file} holds the garbage any more${restarted ? ': crash recovery overwrote them from full-page images in the WAL' : ''}`;
  return undefined;
}

/**
 * silent-corruption: overwrites bytes, seeded, in one kind of file of the node's data directory,
 * behind the server's back: table heap or index blocks (after a checkpoint, in blocks the workload
 * no longer writes), recent WAL, or pg_control. Then, by default, the server is restarted without
 * a shutdown checkpoint so that it reads the damage back from disk, as it would after any restart
 * or cache eviction. It then proves the damage took effect (read back from the file, or from where
 * crash recovery stopped), and says so when WAL replay overwrote it. Nothing heals it.
 */
export const silentCorruption: Fault = {
  name: 'silent-corruption',
  description: 'Overwrite bytes in table, index, WAL or pg_control files behind the server’s back',
  mirrors: 'bad firmware or mis-mapped blocks write garbage',
  targets: ['node'],
  disruptive: false,
  healable: false,
  params: {
    kind: { description: 'which files', kind: 'choice', choices: ['heap', 'index', 'wal', 'pg_control'], default: 'heap' },
    blocks: { description: 'how many places to damage', kind: 'number', default: 3 },
    bytes: { description: 'bytes overwritten at each place', kind: 'number', default: 32 },
    evict: { description: "'restart' the server so it reads from disk, or 'none'", kind: 'choice', choices: ['restart', 'none'], default: 'restart' },
    table: { description: 'the table for heap and index', kind: 'choice', choices: ['faultline_ledger'], default: 'faultline_ledger' },
  },
  async inject({ random }, target, params) {
    const node = targetNode(target);
    const kind = String(params.kind ?? 'heap');
    const count = Number(params.blocks ?? 3);
    const bytes = Number(params.bytes ?? 32);
    const table = String(params.table ?? 'faultline_ledger');
    let place: Target;
    if (kind === 'heap') place = await heapOrIndex(node, table, count, bytes, random, false);
    else if (kind === 'index') place = await heapOrIndex(node, `${table}_pkey`, count, bytes, random, true);
    else if (kind === 'wal') place = await wal(node, count, bytes, random);
    else place = { file: `${PGDATA}/global/pg_control`, offsets: [8 + Math.floor(random() * 200)] };

    const places = damageAt(place.offsets, bytes, random);
    await asRoot(node, ['bash', '-c', overwriteScript(place.file, places)]);
    let detail = `overwrote ${bytes} bytes at ${place.offsets.length} place(s) of ${place.file} on ${node.name} (offsets ${place.offsets.join(', ')})`;
    let restarted: boolean | undefined;
    let logFrom = 0;
    if (String(params.evict ?? 'restart') === 'restart') {
      logFrom = Number((await node.exec(['stat', '-c', '%s', LOG])).stdout.trim()) || 0;
      await node.exec(['fl-pg', 'stop', 'immediate']);
      const started = await node.exec(['fl-pg', 'start']);
      restarted = started.exitCode === 0;
      detail += restarted ? '; server restarted' : `; server does not start again: ${started.stderr.trim().split('\n').slice(-3).join(' ')}`;
    }
    const noEffect = await effect(node, kind, place, places, restarted, logFrom);
    return { detail, ...(noEffect ? { noEffect } : {}) };
  },
};
