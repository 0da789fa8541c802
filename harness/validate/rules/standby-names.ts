// synchronous_standby_names as the server reads it (syncrep_gram.y): `FIRST n (a, b)`,
// `ANY n (a, b)`, `n (a, b)` (FIRST), or a plain list `a, b` (FIRST 1); names compared without
// regard to case, double quotes allowed, `*` matching any standby.

import type { PostgresNode, Topology } from '../../cluster/topology.ts';

export interface StandbyNames {
  method: 'first' | 'any';
  count: number;
  /** As written, quotes removed; '*' for the wildcard. */
  names: string[];
}

/** The parsed setting, or undefined when it is empty (no synchronous standby). */
export function parseStandbyNames(value: string): StandbyNames | undefined {
  const text = value.trim();
  if (!text) return undefined;
  const counted = /^(?:(first|any)\s+)?(\d+)\s*\((.*)\)$/is.exec(text);
  if (counted) {
    return { method: counted[1]?.toLowerCase() === 'any' ? 'any' : 'first', count: Number(counted[2]), names: splitNames(counted[3]!) };
  }
  return { method: 'first', count: 1, names: splitNames(text) };
}

function splitNames(list: string): string[] {
  const names: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (c === '"') {
      if (quoted && list[i + 1] === '"') {
        current += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === ',' && !quoted) {
      names.push(current.trim());
      current = '';
    } else current += c;
  }
  names.push(current.trim());
  return names.filter(Boolean);
}

/**
 * The standbys the setting can choose, in the order the server prefers them. `*` stands for every
 * standby not named before it, in no order the server promises: archives first, the worst case.
 */
export function candidates(names: StandbyNames, topology: Topology): PostgresNode[] {
  const standbys = topology.postgres.nodes.filter((node) => node.role !== 'primary');
  const chosen: PostgresNode[] = [];
  for (const name of names.names) {
    if (name === '*') {
      const rest = standbys.filter((node) => !chosen.includes(node));
      chosen.push(...rest.filter((node) => node.role !== 'replica'), ...rest.filter((node) => node.role === 'replica'));
      continue;
    }
    const node = standbys.find((n) => n.name.toLowerCase() === name.toLowerCase());
    if (node && !chosen.includes(node)) chosen.push(node);
  }
  return chosen;
}
