// The Sidekick topology under Patroni, on real containers: three members in three SAN domains and a
// backup host on a site of its own, which every member's archive_command (rsync --fsync over SSH, as
// written) copies WAL to. A fresh backup is taken from the leader, then the primary's failure domain
// is lost with synchronous_mode on: Patroni promotes the synchronous replica, which archives on a
// new timeline, and a restore of the backup with the archive, rehearsed across the timeline switch
// on a scratch node, holds every acknowledged write.
import { describe, expect, it } from 'vitest';
import type { ManagerEvent, OpEvent, RoleEvent } from '../../harness/history/events.ts';
import { patroniSidekick } from '../../experiments/patroni.ts';
import { historyOf, requireCheck, run } from '../helpers.ts';

type Event = OpEvent | RoleEvent | ManagerEvent | { type: 'run'; name?: string } | { type: 'backup' | 'rehearsal'; phase: string; outcome?: string; detail?: string };
const checks = (result: { checks: Array<{ name: string; summary: string }> }) => result.checks.map((c) => `${c.name}: ${c.summary}`).join('\n');

describe('the Sidekick topology under Patroni', () => {
  it("the primary's SAN lost after a fresh backup: Patroni promotes the synchronous replica, it archives on timeline 2, and the rehearsed restore of the backup across the switch holds every acknowledged write", async () => {
    const result = await run(patroniSidekick, 1);
    expect(result.verdict, checks(result)).toBe('pass');
    expect(result.writes.lost).toBe(0);
    const history = historyOf<Event>(result);
    // The backup host was set up for every member, and the user's command archived from the leader.
    const setUp = history.find((e): e is { type: 'run'; name: string } => e.type === 'run' && typeof e.name === 'string' && e.name.startsWith('archive_command set up: '));
    expect(setUp?.name).toMatch(/SSH on pg-archive .* for postgres from pg-a, pg-b, pg-c; .*archiving works: 0{7}1[0-9A-F]{16} archived in \d+ ms/);
    // The fresh backup was taken from the leader before the fault.
    const backup = history.find((e) => e.type === 'backup' && e.phase === 'end');
    expect(backup).toMatchObject({ outcome: 'ok', detail: expect.stringMatching(/^base backup of pg-a in pg-archive:/) });
    // Patroni, not faultline, promoted a replica.
    const promotion = history.find((e): e is RoleEvent => e.type === 'role' && e.role === 'primary');
    expect(promotion).toMatchObject({ by: 'patroni', previous: 'pg-a' });
    expect(['pg-b', 'pg-c']).toContain(promotion!.node);
    // The new leader archived on timeline 2, and the archive holds every segment of its history.
    expect(requireCheck(result, 'archive-continuity').summary).toMatch(/holds every WAL segment of timeline 2's history from 0{7}1[0-9A-F]{16} through 0{7}2[0-9A-F]{16}/);
    // The restore replayed the backup (timeline 1) into timeline 2, up to a switch on the new leader.
    const rehearsal = requireCheck(result, 'restore-rehearsal');
    expect(rehearsal.valid, rehearsal.summary).toBe(true);
    expect(rehearsal.summary).toMatch(new RegExp(`^the backup restored and holds all ${result.writes.acknowledged} writes acknowledged before the last archived WAL switch`));
    expect(rehearsal.summary).toContain("faultline-postgresql.conf, which Patroni's postgresql.conf in the backup includes, written as on the members");
    const cutoff = history.find((e): e is Extract<Event, { type: 'rehearsal' | 'backup' }> => e.type === 'rehearsal' && e.phase === 'start');
    expect(cutoff?.detail).toMatch(new RegExp(`^WAL segment 0{7}2[0-9A-F]{16} was switched on ${promotion!.node}`));
    expect(requireCheck(result, 'integrity').summary).toMatch(/pg_amcheck on pg-rehearsal/);
  });
});
