import type { ManagerEvent } from '../history/events.ts';
import { hasManager } from './split-brain.ts';
import type { Checker } from './types.ts';
import { lostWrites, writeRecords } from './writes.ts';

/**
 * Failover choice: the server the HA manager chose to promote against the most advanced candidate
 * at that moment (how far each had got in the old primary's stream, read as the manager chose). A
 * candidate behind another loses what only the other had received; that costs the clients
 * something only where it held acknowledged writes: the check fails when the choice was behind and
 * writes acknowledged before it are missing from the final state, and says by how much. Behind with
 * every such write kept (what only the other had was never acknowledged, as under synchronous
 * replication), it holds and says so; without a final state it cannot tell. Skipped when no HA
 * manager ran or it chose no server.
 */
export const failoverChoiceChecker: Checker = ({ history, final }) => {
  if (!hasManager(history)) return { name: 'failover-choice', valid: 'skipped', summary: 'no HA manager in this run: faultline chose the primary itself', details: {} };
  const choices = history.filter((e): e is ManagerEvent => e.type === 'manager' && e.what === 'chose' && e.node !== undefined);
  if (choices.length === 0) return { name: 'failover-choice', valid: 'skipped', summary: 'the HA manager chose no server to promote', details: {} };
  const rows = final?.primary?.rows;
  const lost = rows ? lostWrites(writeRecords(history), rows) : undefined;
  const judged = choices.map((choice) => {
    const positions = choice.positions ?? {};
    const chosen = positions[choice.node!];
    const others = Object.entries(positions).filter(([node]) => node !== choice.node);
    const best = others.reduce<[string, number] | undefined>((top, entry) => (top === undefined || entry[1] > top[1] ? entry : top), undefined);
    const where = others.map(([node, at]) => `${node} at ${at}`).join(', ');
    const by = choice.by;
    if (chosen === undefined) return { ok: undefined, text: `${by} chose ${choice.node} at ${Math.round(choice.time)} ms, whose position could not be read (${where || 'no other candidate read'})` };
    if (best && best[1] > chosen) {
      const behind = `${by} chose ${choice.node} at ${Math.round(choice.time)} ms at offset ${chosen}, behind ${best[0]} at ${best[1]} (${best[1] - chosen} more)`;
      if (!lost) return { ok: undefined, text: `${behind}; whether acknowledged writes went with what only ${best[0]} had received could not be told (no final state)` };
      const before = lost.filter((w) => (w.completeTime ?? w.invokeTime) <= choice.time);
      if (before.length === 0) return { ok: true, text: `${behind}, but every write acknowledged before the choice is in the final state: what only ${best[0]} had received was never acknowledged` };
      return { ok: false, text: `${behind}: what only ${best[0]} had received is lost with the choice, and ${before.length} write${before.length === 1 ? '' : 's'} acknowledged before it ${before.length === 1 ? 'is' : 'are'} missing from the final state` };
    }
    return { ok: true, text: `${by} chose ${choice.node} at ${Math.round(choice.time)} ms, the most advanced candidate (offset ${chosen}${where ? `; ${where}` : ''})` };
  });
  const valid = judged.some((j) => j.ok === false) ? false : judged.some((j) => j.ok === undefined) ? 'unknown' : true;
  return { name: 'failover-choice', valid, summary: judged.map((j) => j.text).join('; '), details: { choices: choices.map((c) => ({ node: c.node, time: c.time, positions: c.positions ?? {} })) } };
};
