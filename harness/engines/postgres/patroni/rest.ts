// Patroni's REST API, read from the machine running faultline through each member's mapped port:
// GET /patroni, the member's own view (its role, state, timeline and WAL positions).

import type { PostgresNodeHandle } from '../postgres-node.ts';
import { REST_PORT } from './conf.ts';

/** A member as its REST API describes it; `said` is one line for logs and wait messages. */
export interface MemberState {
  /** 'primary' (Patroni 4; 'master' before), 'replica', …; undefined when it did not answer. */
  role?: string;
  /** 'running', 'starting', 'stopped', 'crashed', …. */
  state?: string;
  /** A replica whose WAL receiver streams from its upstream (Patroni's replication_state). */
  streaming: boolean;
  timeline?: number;
  /** The primary's write position, or a replica's received (else replayed) position, in bytes. */
  position?: number;
  said: string;
}

/** An LSN such as '0/3000060', or a number of bytes, as bytes. */
export function lsnBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(value);
  return match ? Number.parseInt(match[1]!, 16) * 2 ** 32 + Number.parseInt(match[2]!, 16) : undefined;
}

/** GET /patroni on the member, bounded at `timeoutMs`; never throws (an unanswered call says why). */
export async function restState(node: PostgresNodeHandle, timeoutMs = 1000): Promise<MemberState> {
  if (node.lost) return { streaming: false, said: `${node.name}: lost` };
  try {
    const url = `http://${node.container.getHost()}:${node.container.getMappedPort(REST_PORT)}/patroni`;
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json()) as { role?: string; state?: string; replication_state?: string; timeline?: number; xlog?: { location?: unknown; received_location?: unknown; replayed_location?: unknown } };
    const role = body.role === 'master' ? 'primary' : body.role;
    const position = lsnBytes(body.xlog?.location) ?? lsnBytes(body.xlog?.received_location) ?? lsnBytes(body.xlog?.replayed_location);
    return {
      ...(role ? { role } : {}),
      ...(body.state ? { state: body.state } : {}),
      ...(typeof body.timeline === 'number' ? { timeline: body.timeline } : {}),
      ...(position !== undefined ? { position } : {}),
      streaming: body.replication_state === 'streaming',
      said: `${node.name}: ${role ?? '?'} ${body.state ?? '?'}${body.replication_state ? ` (${body.replication_state})` : ''}${body.timeline ? ` on timeline ${body.timeline}` : ''}`,
    };
  } catch (error) {
    return { streaming: false, said: `${node.name}: REST API did not answer (${error instanceof Error ? error.message : String(error)})` };
  }
}
