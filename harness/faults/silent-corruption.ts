import { targetNode } from './node-ops.ts';
import type { Fault } from './types.ts';

/**
 * silent-corruption: overwrites bytes, seeded, in one kind of the node's files behind the server's
 * back. The engine says which files each kind damages (PostgreSQL: table heap or index blocks,
 * recent WAL, pg_control; Redis: the AOF's middle or tail, the RDB snapshot). Then, by default,
 * the server is restarted without a clean shutdown so that it reads the damage back from disk, as
 * it would after any restart or cache eviction, and the engine proves the damage took effect, or
 * says why it had none (e.g. crash recovery overwrote it). Nothing heals it.
 */
export const silentCorruption: Fault = {
  name: 'silent-corruption',
  description: 'Overwrite bytes in data files (a table, an index, the WAL, the AOF: the engine says which) behind the server’s back',
  mirrors: 'bad firmware or mis-mapped blocks write garbage',
  targets: ['node'],
  disruptive: false,
  healable: false,
  params: {
    kind: {
      description: "which files: one of the engine's corruption kinds, its first by default (each engine's are listed below the catalog)",
      kind: 'text',
    },
    blocks: { description: 'how many places to damage', kind: 'number', default: 3 },
    bytes: { description: 'bytes overwritten at each place', kind: 'number', default: 32 },
    evict: { description: "'restart' the server so it reads from disk, or 'none'", kind: 'choice', choices: ['restart', 'none'], default: 'restart' },
    table: { description: "PostgreSQL: the table for 'heap' and 'index'", kind: 'choice', choices: ['faultline_ledger'], default: 'faultline_ledger' },
  },
  check(topology, params, engine) {
    const kind = params.kind;
    if (kind !== undefined && !engine.corruptionKinds.includes(String(kind))) {
      return `the ${engine.label} engine has no corruption kind '${kind}': use ${engine.corruptionKinds.join(', ')}`;
    }
    return undefined;
  },
  async inject({ cluster, random }, target, params) {
    const node = targetNode(target);
    return cluster.engine.corrupt(cluster, node, {
      kind: String(params.kind ?? cluster.engine.corruptionKinds[0]),
      places: Number(params.blocks ?? 3),
      bytes: Number(params.bytes ?? 32),
      evict: String(params.evict ?? 'restart') === 'restart',
      random,
      ...(params.table !== undefined ? { table: String(params.table) } : {}),
    });
  },
};
