// PostgreSQL under its own HA manager, Patroni, on real containers: Patroni and an etcd member
// beside each of three servers, clients writing through HAProxy, and faultline performing no
// failover. A healthy run loses nothing and Patroni changes nothing. The primary's SAN lost with
// synchronous_mode on: Patroni promotes the synchronous replica once the leader key expires and no
// acknowledged write is lost. Patroni frozen on the primary (SIGSTOP; no watchdog here) behind an
// HAProxy that keeps its sessions: a replica is promoted while the old primary goes on acknowledging
// writes, which split-brain names and which are lost. The primary's volume stalled longer than the
// ttl: Patroni never fails over, and writes wait for the whole stall. The primary's host loses power
// with synchronous_mode on: Patroni promotes the synchronous replica, nothing acknowledged is lost,
// and with the power back the old primary's etcd member and Patroni start on what its volume kept
// and it rejoins. The replicas' hosts lose power, and with them two of the three etcd members: the
// leader demotes itself, and once they are back on what their volumes kept etcd has its quorum
// again and the same server leads. The replicas' volumes full: their PostgreSQL stops, their etcd
// members write on into the WAL files etcd preallocates until their database must grow, which ends
// them; the leader keeps its lock, or demotes itself and leads again, and no replica is promoted. A runbook drives Patroni
// (patronictl switchover) under load: Patroni promotes the replica it names and nothing is lost.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FaultEvent, ManagerEvent, OpEvent, RoleEvent } from '../../harness/history/events.ts';
import {
  patroniDcsDiskFull,
  patroniDcsPowerLoss,
  patroniFrozenLeader,
  patroniHealthy,
  patroniPrimaryPowerLossSync,
  patroniPrimarySanLostSync,
  patroniStalledPrimary,
  patroniSwitchoverRunbook,
} from '../../experiments/patroni.ts';
import { historyOf, requireCheck, run } from '../helpers.ts';

type Event = OpEvent | FaultEvent | RoleEvent | ManagerEvent;
const checks = (result: { checks: Array<{ name: string; summary: string }> }) => result.checks.map((c) => `${c.name}: ${c.summary}`).join('\n');
const writesBy = (history: Event[]) => new Set(history.filter((e): e is OpEvent => e.type === 'ok' && 'f' in e && e.f !== 'read').map((e) => e.node));

describe('Patroni as the HA manager', () => {
  it('loses nothing on a healthy run: Patroni promotes no one, every write reached the leader through HAProxy, and the run records its settings and that it settled', async () => {
    const result = await run(patroniHealthy, 1);
    expect(result.verdict, checks(result)).toBe('pass');
    expect(result.writes.acknowledged).toBeGreaterThan(500);
    expect(result.writes.lost).toBe(0);
    expect(result.writes.failed, 'HAProxy sent no client to a replica').toBe(0);
    const history = historyOf<Event>(result);
    expect(history.find((e) => e.type === 'manager' && e.what === 'watching')).toMatchObject({
      by: 'patroni',
      detail: expect.stringMatching(/^Patroni with etcd beside each server, ttl 20, loop_wait 2, retry_timeout 4, maximum_lag_on_failover 1048576, synchronous_mode false, failsafe_mode false, HAProxy cutting sessions to a server marked down \(faultline's defaults for short drills: ttl 20, loop_wait 2, retry_timeout 4, use_pg_rewind true\); faultline performs no failover$/),
    });
    const settled = history.find((e): e is ManagerEvent => e.type === 'manager' && e.what === 'settled')!;
    expect(settled.detail).toBe('leader key: pg-a; pg-a: primary running on timeline 1, pg-b: replica running (streaming) on timeline 1, pg-c: replica running (streaming) on timeline 1');
    expect(history.some((e) => e.type === 'role')).toBe(false);
    // Each write is recorded with the server its connection reached (its own address, asked through HAProxy).
    expect(writesBy(history)).toEqual(new Set(['pg-a']));
    expect(requireCheck(result, 'split-brain').valid).toBe(true);
  });

  it("the primary's SAN lost with synchronous_mode on: Patroni promotes a replica once the leader key expires, and no acknowledged write is lost", async () => {
    const result = await run(patroniPrimarySanLostSync, 1);
    expect(result.verdict, checks(result)).toBe('pass');
    expect(result.writes.lost).toBe(0);
    const history = historyOf<Event>(result);
    const promotion = history.find((e): e is RoleEvent => e.type === 'role' && e.role === 'primary')!;
    expect(promotion).toMatchObject({ by: 'patroni', previous: 'pg-a' });
    expect(promotion.node).toMatch(/^pg-[bc]$/);
    // Seen gone, or (when a replica took it within one of faultline's reads) seen passed on.
    expect(history.find((e) => e.type === 'manager' && e.what === 'detected')).toMatchObject({
      node: 'pg-a',
      detail: expect.stringMatching(/^the leader key \/service\/faultline\/leader (is gone from etcd: no member holds the leader lock \(it was pg-a\)|passed from pg-a to pg-[bc] between two of faultline's reads: pg-a's lock had expired or been released)$/),
    });
    const acted = requireCheck(result, 'manager-acted');
    expect(acted.valid).toBe(true);
    expect(acted.summary).toMatch(new RegExp(`^patroni failed over: it found pg-a down \\d+ ms after the first disruptive fault \\(domain-loss on domain:san-a at \\d+ ms\\) and promoted ${promotion.node} in place of pg-a \\d+ ms after it; after the workload it settled: leader key: ${promotion.node};`));
    // The leader key lives ttl (20 s) from its last renewal, at most loop_wait (2 s) before the loss.
    expect(acted.details.detectionMs as number).toBeGreaterThanOrEqual(17_000);
    expect(acted.details.detectionMs as number).toBeLessThan(30_000);
    expect(acted.details.promotionMs as number).toBeGreaterThanOrEqual(acted.details.detectionMs as number);
    // Patroni promoted the synchronous replica, which was as advanced as any candidate.
    expect(requireCheck(result, 'failover-choice').valid).toBe(true);
    // Writes were refused from the loss until the promotion: the RTO is at least the detection.
    expect(result.rtoMs).toBeGreaterThanOrEqual(acted.details.detectionMs as number);
    expect(writesBy(history)).toEqual(new Set(['pg-a', promotion.node]));
  });

  it('Patroni frozen on the primary behind an HAProxy that keeps sessions: a replica is promoted while the old primary acknowledges writes, which split-brain names and which are lost', async () => {
    const result = await run(patroniFrozenLeader, 1);
    expect(result.verdict, checks(result)).toBe('fail');
    const history = historyOf<Event>(result);
    const promotion = history.find((e): e is RoleEvent => e.type === 'role' && e.role === 'primary')!;
    expect(promotion).toMatchObject({ by: 'patroni', previous: 'pg-a' });
    const frozen = result.faults.find((f) => f.name === 'manager-stop')!;
    expect(frozen.detail).toMatch(/^froze Patroni on pg-a with SIGSTOP \(state T\S*\); PostgreSQL runs on; healed: resumed Patroni on pg-a$/);
    const split = requireCheck(result, 'split-brain');
    expect(split.valid).toBe(false);
    const deposed = split.details.deposed as Array<{ key: number; node: string; time: number }>;
    expect(deposed.length).toBeGreaterThan(0);
    expect(deposed.every((w) => w.node === 'pg-a' && w.time >= promotion.time)).toBe(true);
    expect(split.summary).toMatch(new RegExp(`^two primaries acknowledged writes at once: ${deposed.length} writes were acknowledged by a deposed primary after patroni promoted ${promotion.node} over pg-a at \\d+ ms`));
    // Patroni, once resumed, demoted the old primary (it rejoined with pg_rewind): those writes are gone.
    expect(history.some((e) => e.type === 'role' && e.node === 'pg-a' && e.role === 'replica')).toBe(true);
    const lost = new Set(split.details.lost as number[]);
    expect(deposed.every((w) => lost.has(w.key))).toBe(true);
    expect(result.writes.lost).toBeGreaterThanOrEqual(deposed.length);
    expect(history.find((e): e is ManagerEvent => e.type === 'manager' && e.what === 'settled')?.detail).toMatch(new RegExp(`^leader key: ${promotion.node};`));
  });

  it("the primary's volume stalled longer than the ttl: Patroni never fails over, and writes wait for the whole stall", async () => {
    const result = await run(patroniStalledPrimary, 1);
    expect(result.verdict, checks(result)).toBe('pass');
    const history = historyOf<Event>(result);
    expect(history.some((e) => e.type === 'role')).toBe(false);
    const acted = requireCheck(result, 'manager-acted');
    expect(acted.summary).toMatch(/^patroni did not fail over: it never found the primary down after the first disruptive fault \(io-stall on pg-a at \d+ ms\), and promoted no server \(a measure\); after the workload it settled: leader key: pg-a;/);
    // How long writes were refused: the whole 25 s stall, not the 20 s ttl after which a manager could have acted.
    expect(result.rtoMs).toBeGreaterThanOrEqual(24_000);
    expect(result.writes.lost).toBe(0);
  });

  it("the primary's host loses power with synchronous_mode on: Patroni promotes the synchronous replica, no acknowledged write is lost, and with the power back the old primary's etcd and Patroni start again and it rejoins as a replica", async () => {
    const result = await run(patroniPrimaryPowerLossSync, 1);
    expect(result.verdict, checks(result)).toBe('pass');
    expect(result.writes.lost).toBe(0);
    const power = result.faults.find((f) => f.name === 'power-loss')!;
    // Both of the node's volumes lost what they never fsynced: PostgreSQL's and its etcd member's.
    expect(power.detail).toMatch(/^power lost: pg-a: \d+ un-synced bytes in \d+ files and \d+ directory changes dropped \(its etcd volume: \d+ un-synced bytes in \d+ files and \d+ directory changes\); healed: power back: pg-a restarted \(crash recovery\); its etcd member and its Patroni started again$/);
    const history = historyOf<Event>(result);
    const promotion = history.find((e): e is RoleEvent => e.type === 'role' && e.role === 'primary')!;
    expect(promotion).toMatchObject({ by: 'patroni', previous: 'pg-a' });
    expect(requireCheck(result, 'failover-choice').valid).toBe(true);
    // Powered on again, pg-a reported itself a replica (Patroni rewound or followed it), and settled streaming.
    expect(history.some((e) => e.type === 'role' && e.node === 'pg-a' && e.role === 'replica')).toBe(true);
    expect(history.find((e): e is ManagerEvent => e.type === 'manager' && e.what === 'settled')?.detail).toMatch(
      new RegExp(`^leader key: ${promotion.node}; .*pg-a: replica running \\(streaming\\)`),
    );
    expect(requireCheck(result, 'split-brain').valid).toBe(true);
  });

  it("the replicas' hosts lose power with two of the three etcd members: the leader demotes itself, and once etcd starts again on what the volumes kept the same server leads again and nothing is lost", async () => {
    const result = await run(patroniDcsPowerLoss, 1);
    expect(result.verdict, checks(result)).toBe('pass');
    expect(result.writes.lost).toBe(0);
    const cuts = result.faults.filter((f) => f.name === 'power-loss');
    expect(cuts.map((f) => (f.detail ?? '').replace(/\d+/g, 'N'))).toEqual([
      'power lost: pg-b: N un-synced bytes in N files and N directory changes dropped (its etcd volume: N un-synced bytes in N files and N directory changes); healed: power back: pg-b restarted (crash recovery); its etcd member and its Patroni started again',
      'power lost: pg-c: N un-synced bytes in N files and N directory changes dropped (its etcd volume: N un-synced bytes in N files and N directory changes); healed: power back: pg-c restarted (crash recovery); its etcd member and its Patroni started again',
    ]);
    const history = historyOf<Event>(result);
    // Without failsafe_mode the leader cannot renew its lock without an etcd quorum: it demoted itself,
    // then took the lock again once etcd was back (the same server, promoted again: not a failover).
    const roles = history.filter((e): e is RoleEvent => e.type === 'role');
    expect(roles.map((e) => `${e.node} ${e.role}`)).toEqual(['pg-a replica', 'pg-a primary']);
    expect(roles[1]).toMatchObject({ previous: 'pg-a' });
    // Writes went on until the leader demoted itself (a short RTO), then were refused until etcd was
    // back: that later outage is reported beside the RTO, and the demotion falls within it (the
    // watch reads the REST API every 250 ms, so it sees the re-promotion after writes resume).
    const rto = requireCheck(result, 'rto');
    const later = rto.details.later as { ms: number; fromMs: number; toMs: number };
    expect(later.ms).toBeGreaterThan(result.rtoMs!);
    expect(later.ms).toBeGreaterThanOrEqual(1000);
    expect(later.fromMs).toBeLessThanOrEqual(roles[0]!.time);
    expect(later.toMs).toBeGreaterThanOrEqual(roles[0]!.time);
    expect(rto.summary).toMatch(/; later no write was acknowledged for \d+ ms \(from \d+ to \d+ ms\), longer than that/);
    expect(history.find((e): e is ManagerEvent => e.type === 'manager' && e.what === 'settled')?.detail).toMatch(/^leader key: pg-a; pg-a: primary running on timeline \d+, pg-b: replica running \(streaming\) on timeline \d+, pg-c: replica running \(streaming\) on timeline \d+$/);
  });

  it("a runbook drives Patroni (patronictl switchover under load, from its context): Patroni promotes the replica it names, faultline records it, and nothing is lost", async () => {
    const result = await run(patroniSwitchoverRunbook, 1);
    expect(result.verdict, checks(result)).toBe('pass');
    expect(result.writes.lost).toBe(0);
    const history = historyOf<Event>(result);
    const promotion = history.find((e): e is RoleEvent => e.type === 'role' && e.role === 'primary')!;
    expect(promotion).toMatchObject({ by: 'patroni', previous: 'pg-a' });
    expect(requireCheck(result, 'restore-completed').details.recoveries).toEqual([expect.objectContaining({ name: 'runbook', outcome: 'ok', detail: expect.stringMatching(new RegExp(`^the runbook made ${promotion.node} the primary in `)) })]);
    // The old primary rejoined as a replica of the new one, and the writes went to whichever led.
    expect(history.some((e) => e.type === 'role' && e.node === 'pg-a' && e.role === 'replica')).toBe(true);
    expect(writesBy(history)).toEqual(new Set(['pg-a', promotion.node]));
    expect(requireCheck(result, 'split-brain').valid).toBe(true);
  });

  it("the etcd volumes beside both replicas (two of the three members) full for 10 s: their PostgreSQL, on volumes of their own, never sees ENOSPC, no replica is promoted, what etcd and Patroni did is reported from their logs, and nothing is lost", async () => {
    const result = await run(patroniDcsDiskFull, 1);
    expect(result.verdict, checks(result)).toBe('pass');
    expect(result.writes.lost).toBe(0);
    const history = historyOf<Event>(result);
    // The fault filled etcd's volume only: PostgreSQL's, a volume of its own, kept its space.
    expect(result.faults.filter((f) => f.name === 'disk-full').map((f) => f.detail?.split(';')[0]).sort()).toEqual(['filled /var/lib/faultline/etcd on pg-b', 'filled /var/lib/faultline/etcd on pg-c']);
    const etcdFatal: string[] = [];
    for (const node of ['pg-b', 'pg-c']) {
      const logs = ['postgresql.log', 'patroni.log'].map((f) => readFileSync(join(result.dir, 'logs', node, f), 'utf8')).join('\n');
      expect(logs, node).not.toMatch(/No space left on device/);
      // etcd appends to WAL files it preallocated, so those need no new blocks; its bolt database
      // grows, and a commit that needs a new block ends the member. Every error it logged is that one.
      const errors = readFileSync(join(result.dir, 'logs', node, 'etcd.log'), 'utf8').split('\n').filter((line) => /"level":"(error|panic|fatal)"/.test(line));
      for (const line of errors) expect(line, node).toMatch(/no space left on device/);
      if (errors.some((line) => line.includes('"level":"fatal"'))) etcdFatal.push(node);
    }
    // The replicas could not have led (their disks were full): any role change is the leader's own.
    const roles = history.filter((e): e is RoleEvent => e.type === 'role');
    for (const role of roles) expect(role.node).toBe('pg-a');
    const acted = requireCheck(result, 'manager-acted').summary;
    if (roles.length === 0) {
      expect(acted).toMatch(/^patroni did not fail over: it never found the primary down/);
    } else {
      // Both members beside the replicas ended, so etcd lost its quorum and the leader could not
      // renew its key: Patroni demoted it, and promoted it again once the heal had etcd back.
      expect(etcdFatal).toEqual(['pg-b', 'pg-c']);
      expect(roles.map((r) => r.role)).toEqual(['replica', 'primary']);
      expect(acted).toMatch(/^patroni did not fail over to another server: .*demoted pg-a and promoted it again/);
    }
    expect(requireCheck(result, 'replica-parity').valid).toBe(true);
    expect(requireCheck(result, 'split-brain').valid).toBe(true);
  });
});
