// Redis under its own HA manager, Sentinel, on real containers: three Sentinels beside three
// servers, clients that ask them for the primary (ioredis's Sentinel support), and faultline
// performing no failover. A healthy run loses nothing and Sentinel changes nothing; a primary cut
// off from its replicas and the other Sentinels but not from its clients is replaced while it goes on
// acknowledging writes, which split-brain names and which are lost; with min-replicas-to-write 1 and
// min-replicas-max-lag 1 it refuses writes once no replica has acknowledged for that long, so only
// writes acknowledged within that lag are lost. A stalled primary volume makes Sentinel fail over and
// the thawed old primary acknowledge writes that are then lost; stopped Sentinels delay the failover
// after the primary dies for as long as they are out. A runbook that runs SENTINEL FAILOVER gets the
// Sentinels in its context, and the old primary acknowledges writes until Sentinel makes it a replica.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pinVersions } from '../../harness/engines/registry.ts';
import type { ExperimentDefinition } from '../../harness/experiment/index.ts';
import type { FaultEvent, ManagerEvent, OpEvent, RoleEvent } from '../../harness/history/events.ts';
import { sentinelFailoverRunbook, sentinelHealthy, sentinelIsolatedPrimary, sentinelIsolatedPrimaryMinReplicas, sentinelStalledPrimary, sentinelStoppedThenCrash } from '../../experiments/sentinel.ts';
import { historyOf, requireCheck, run } from '../helpers.ts';

type Event = OpEvent | FaultEvent | RoleEvent | ManagerEvent;
const checks = (result: { checks: Array<{ name: string; summary: string }> }) => result.checks.map((c) => `${c.name}: ${c.summary}`).join('\n');

/** The lost writes (those the final state lacks) with the server that acknowledged each, and when. */
function lostWrites(result: Awaited<ReturnType<typeof run>>): Array<{ key: number; node: string; time: number }> {
  const keys = requireCheck(result, 'lost-writes').details.lostKeys as number[];
  expect(keys.length).toBe(result.writes.lost);
  const acked = new Map(historyOf<Event>(result).filter((e): e is OpEvent => e.type === 'ok' && 'f' in e && e.f !== 'read').map((e) => [e.key, e]));
  return keys.map((key) => ({ key, node: acked.get(key)!.node, time: acked.get(key)!.time }));
}

describe('Redis Sentinel as the HA manager', () => {
  it('loses nothing on a healthy run: Sentinel promotes no one, and the run records its settings and that it settled', async () => {
    const result = await run(sentinelHealthy, 1);
    expect(result.verdict, checks(result)).toBe('pass');
    expect(result.writes.acknowledged).toBeGreaterThan(1000);
    expect(result.writes.lost).toBe(0);
    expect(requireCheck(result, 'split-brain')).toMatchObject({ valid: true, summary: 'the HA manager promoted no server: one primary acknowledged every write' });
    const history = historyOf<Event>(result);
    expect(history.find((e) => e.type === 'manager' && e.what === 'watching')).toMatchObject({
      by: 'sentinel',
      detail: "Redis Sentinel beside each server, quorum 2, down-after-milliseconds 2000, failover-timeout 5000 (faultline's defaults for short drills: quorum 2 (a majority), down-after-milliseconds 2000, failover-timeout 5000); faultline performs no failover",
    });
    const settled = history.find((e): e is ManagerEvent => e.type === 'manager' && e.what === 'settled')!;
    expect(settled.detail).toMatch(/^Sentinels see redis-primary as the primary; redis-primary master, redis-replica-a slave of [\d.]+ \(link up\), redis-replica-b slave of [\d.]+ \(link up\)$/);
    expect(history.some((e) => e.type === 'role')).toBe(false);
    // Every write went to the server Sentinel named, as the client saw it.
    expect(new Set(history.filter((e): e is OpEvent => e.type === 'ok' && 'f' in e).map((e) => e.node))).toEqual(new Set(['redis-primary']));
  });

  it('an isolated primary keeps acknowledging writes after Sentinel promoted a replica: split-brain names them, and they are lost', async () => {
    const result = await run(sentinelIsolatedPrimary, 1);
    expect(result.verdict, checks(result)).toBe('fail');
    const history = historyOf<Event>(result);
    const promotion = history.find((e): e is RoleEvent => e.type === 'role' && e.role === 'primary')!;
    expect(promotion).toMatchObject({ by: 'sentinel', previous: 'redis-primary' });
    expect(promotion.node).toMatch(/^redis-replica-[ab]$/);
    expect(promotion.detail).toMatch(/^\+switch-master faultline [\d.]+ 6379 [\d.]+ 6379$/);
    // Sentinel said what it did, in order: the primary down by quorum, a leader elected, then the switch.
    const said = history.filter((e): e is ManagerEvent => e.type === 'manager' && (e.what === 'said' || e.what === 'detected')).map((e) => e.detail.split(' ')[0]);
    expect(history.find((e) => e.type === 'manager' && e.what === 'detected')).toMatchObject({ node: 'redis-primary', detail: expect.stringMatching(/^\+odown master faultline [\d.]+ 6379 #quorum \d\/2$/) });
    expect(said.indexOf('+odown')).toBeGreaterThanOrEqual(0);
    expect(said.indexOf('+odown')).toBeLessThan(said.indexOf('+elected-leader'));
    expect(said.indexOf('+elected-leader')).toBeLessThan(said.indexOf('+switch-master'));
    // Sentinel chose the replica that had processed the most of the stream (both were cut off alike).
    const choice = requireCheck(result, 'failover-choice');
    expect(choice.valid, choice.summary).toBe(true);
    expect(choice.summary).toMatch(new RegExp(`^sentinel chose ${promotion.node} at \\d+ ms, the most advanced candidate \\(offset \\d+; redis-replica-[ab] at \\d+\\)$`));
    const acted = requireCheck(result, 'manager-acted');
    expect(acted.valid).toBe(true);
    expect(acted.summary).toMatch(new RegExp(`^sentinel failed over: it found redis-primary down \\d+ ms after the first fault that took effect \\(partition on redis-primary~redis-replica-[ab] at \\d+ ms\\) and promoted ${promotion.node} in place of redis-primary \\d+ ms after it; after the workload it settled: Sentinels see ${promotion.node} as the primary`));
    // Detection takes at least down-after-milliseconds (2000), and promotion comes after it.
    expect(acted.details.detectionMs as number).toBeGreaterThanOrEqual(1900);
    expect(acted.details.promotionMs as number).toBeGreaterThan(acted.details.detectionMs as number);
    // The old primary was made a replica when it came back, and the run settled on the new one.
    expect(history.some((e) => e.type === 'role' && e.node === 'redis-primary' && e.role === 'replica')).toBe(true);

    const split = requireCheck(result, 'split-brain');
    expect(split.valid).toBe(false);
    const deposed = split.details.deposed as Array<{ key: number; node: string; time: number }>;
    expect(deposed.length).toBeGreaterThan(0);
    expect(deposed.every((w) => w.node === 'redis-primary' && w.time >= promotion.time)).toBe(true);
    expect(split.summary).toMatch(new RegExp(`^two primaries acknowledged writes at once: ${deposed.length} writes were acknowledged by a deposed primary after sentinel promoted ${promotion.node} over redis-primary at \\d+ ms \\(${deposed.length} by redis-primary from \\d+ to \\d+ ms\\); ${deposed.length} of them are lost \\(keys \\d+`));
    // Those writes are lost: each is missing from the final state.
    const lost = new Set(split.details.lost as number[]);
    expect(deposed.every((w) => lost.has(w.key))).toBe(true);
    expect(result.writes.lost).toBeGreaterThanOrEqual(deposed.length);
  });

  it("on Valkey 9 (a smoke of another server and version): the Sentinels are Valkey's own, and the isolated primary's writes after the promotion are named and lost", async () => {
    const onValkey = { ...sentinelIsolatedPrimary, name: 'sentinel-isolated-primary-valkey', topology: pinVersions(sentinelIsolatedPrimary.topology, { valkey: 9 }) as ExperimentDefinition['topology'] };
    const result = await run(onValkey, 2);
    expect(result.versions.redis).toMatch(/^Valkey 9\./);
    expect(historyOf<Event>(result).find((e) => e.type === 'manager' && e.what === 'watching')).toMatchObject({ detail: expect.stringMatching(/^Valkey Sentinel beside each server/) });
    const split = requireCheck(result, 'split-brain');
    expect(split.valid).toBe(false);
    expect((split.details.lost as number[]).length).toBe((split.details.deposed as unknown[]).length);
    expect(requireCheck(result, 'manager-acted').valid).toBe(true);
  });

  it('with min-replicas-to-write 1 and min-replicas-max-lag 1, the isolated primary refuses writes within the lag: only writes acknowledged in that window are lost', async () => {
    const result = await run(sentinelIsolatedPrimaryMinReplicas, 1);
    const history = historyOf<Event>(result);
    const cut = history.find((e): e is FaultEvent => e.type === 'fault' && e.name === 'partition' && e.phase === 'active')!;
    expect(history.some((e) => e.type === 'role' && e.role === 'primary')).toBe(true);
    // No write after the promotion came from the deposed primary: it was refusing them (NOREPLICAS).
    expect(requireCheck(result, 'split-brain').valid).toBe(true);
    expect(history.some((e) => e.type === 'fail' && 'error' in e && /NOREPLICAS/.test(e.error ?? ''))).toBe(true);
    // Whatever was lost was acknowledged by the isolated primary within the lag after the cut: 1 s,
    // plus up to a second between two replica acknowledgements and a second until the primary's
    // once-a-second check counts them: bounded, and reported as lost.
    const lostCount = result.writes.lost ?? -1;
    expect(lostCount).toBeGreaterThanOrEqual(0);
    expect(lostCount).toBeLessThan(result.writes.acknowledged);
    const lost = lostCount > 0 ? lostWrites(result) : [];
    for (const write of lost) {
      expect(write.node).toBe('redis-primary');
      expect(write.time).toBeGreaterThanOrEqual(cut.time - 1000);
      expect(write.time).toBeLessThanOrEqual(cut.time + 3500);
    }
    expect(['pass', 'fail']).toContain(result.verdict);
    if (result.verdict === 'fail') expect(result.checks.filter((c) => c.valid === false).map((c) => c.name)).toEqual(['lost-writes']);
  });

  it("a stalled primary volume: Sentinel fails over, and the old primary acknowledges writes again when the stall ends, which are lost; manager-acted says when it found it down", async () => {
    const result = await run(sentinelStalledPrimary, 1);
    const history = historyOf<Event>(result);
    const stall = history.find((e): e is FaultEvent => e.type === 'fault' && e.name === 'io-stall' && e.phase === 'active')!;
    const acted = requireCheck(result, 'manager-acted');
    expect(acted.valid).toBe(true);
    expect(acted.summary).toMatch(/^sentinel failed over: it found redis-primary down \d+ ms after the first disruptive fault \(io-stall on redis-primary at \d+ ms\) and promoted redis-replica-[ab] in place of redis-primary \d+ ms after it; after the workload it settled/);
    expect(acted.details.promotionMs as number).toBeLessThan(6000); // within the 6 s stall
    // The writes the old primary acknowledged after the promotion (once thawed) are named, and lost.
    const split = requireCheck(result, 'split-brain');
    expect(split.valid).toBe(false);
    const deposed = split.details.deposed as Array<{ key: number; time: number }>;
    expect(deposed.length).toBeGreaterThan(0);
    expect(deposed.every((w) => w.time > stall.time)).toBe(true);
    expect((split.details.lost as number[]).length).toBe(deposed.length);
    expect(result.verdict).toBe('fail');
    expect(result.checks.filter((c) => c.valid === false).map((c) => c.name).sort()).toEqual(['lost-writes', 'split-brain']);
  });

  it('Sentinels stopped (one frozen, one killed) when the primary dies: no failover until they are back, writes refused meanwhile, then Sentinel fails over', async () => {
    const result = await run(sentinelStoppedThenCrash, 2);
    expect(result.faults.filter((f) => f.name === 'manager-stop').map((f) => f.detail).sort()).toEqual([
      expect.stringMatching(/^froze redis-sentinel on redis-replica-a with SIGSTOP \(state T\S*\); Redis runs on; healed: resumed redis-sentinel on redis-replica-a$/),
      expect.stringMatching(/^killed redis-sentinel on redis-replica-b with SIGKILL; Redis runs on; healed: started redis-sentinel on redis-replica-b again, from the configuration it had rewritten$/),
    ]);
    const history = historyOf<Event>(result);
    const healed = history.filter((e): e is FaultEvent => e.type === 'fault' && e.name === 'manager-stop' && e.phase === 'end').map((e) => e.time);
    const detected = history.find((e): e is ManagerEvent => e.type === 'manager' && e.what === 'detected')!;
    // No quorum could find the primary down before both Sentinels were back.
    expect(detected.time).toBeGreaterThan(Math.max(...healed));
    expect(requireCheck(result, 'manager-acted').summary).toMatch(/^sentinel failed over: it found redis-primary down \d+ ms after the first disruptive fault \(process-crash on redis-primary at \d+ ms\)/);
    // Writes were refused from the crash until the promotion: at least as long as the Sentinels were out after it.
    const crash = history.find((e): e is FaultEvent => e.type === 'fault' && e.name === 'process-crash' && e.phase === 'active')!;
    expect(result.rtoMs).toBeGreaterThan(Math.max(...healed) - crash.time);
    // What may follow: a second failover, whose cost split-brain names (seen in 2 of 5 runs with
    // down-after-milliseconds 1000, in none of 5 with 2000, faultline's default, or 3000).
    const failed = result.checks.filter((c) => c.valid === false).map((c) => c.name).sort();
    expect([[], ['lost-writes', 'split-brain']], checks(result)).toContainEqual(failed);
    if (failed.length > 0) expect(history.filter((e) => e.type === 'role' && e.role === 'primary').length).toBeGreaterThan(1);
  });

  it("a runbook's SENTINEL FAILOVER: the context names the Sentinels, Sentinel promotes a replica, and the old primary acknowledges writes until it is made a replica, which split-brain names and which are lost", async () => {
    const result = await run(sentinelFailoverRunbook, 1);
    const history = historyOf<Event>(result);
    const context = JSON.parse(readFileSync(join(result.dir, 'runbook', 'context.json'), 'utf8')) as { manager: { name: string; master: string; port: number }; nodes: Array<{ name: string; ip?: string }> };
    expect(context.manager).toMatchObject({ name: 'sentinel', master: 'faultline', port: 26379 });
    expect(context.nodes.every((n) => /^[\d.]+$/.test(n.ip ?? ''))).toBe(true);
    expect(readFileSync(join(result.dir, 'runbook', 'runbook.log'), 'utf8')).toMatch(/the Sentinels promoted redis-replica-[ab] \([\d.]+\)/);
    const promotion = history.find((e): e is RoleEvent => e.type === 'role' && e.role === 'primary')!;
    expect(promotion).toMatchObject({ by: 'sentinel', previous: 'redis-primary' });
    expect(promotion.detail).toMatch(/^\+switch-master /);
    // The old primary is made a replica only later; until then its clients' writes are acknowledged.
    const demoted = history.find((e): e is RoleEvent => e.type === 'role' && e.node === 'redis-primary' && e.role === 'replica');
    expect(demoted?.detail).toMatch(/^\+convert-to-slave /);
    expect(demoted!.time).toBeGreaterThan(promotion.time);
    const split = requireCheck(result, 'split-brain');
    expect(split.valid).toBe(false);
    const deposed = split.details.deposed as Array<{ key: number; node: string; time: number }>;
    expect(deposed.length).toBeGreaterThan(0);
    expect(deposed.every((w) => w.node === 'redis-primary' && w.time >= promotion.time && w.time <= demoted!.time)).toBe(true);
    expect((split.details.lost as number[]).length).toBe(deposed.length);
    expect(result.writes.lost).toBeGreaterThanOrEqual(deposed.length);
    expect(requireCheck(result, 'restore-completed').valid).toBe(true);
    expect(result.checks.filter((c) => c.valid === false).map((c) => c.name).sort()).toEqual(['lost-writes', 'split-brain']);
  });
});
