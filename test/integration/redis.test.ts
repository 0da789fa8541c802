// The Redis (and Valkey) engine on real containers: a healthy run loses nothing, and each shipped
// experiment's verdict and lost-write count match the guarantee it names (said per test).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { pinVersions } from '../../harness/engines/registry.ts';
import { runExperiment, type ExperimentDefinition, type ExperimentResult } from '../../harness/experiment/index.ts';
import type { OpEvent } from '../../harness/history/events.ts';
import {
  redisAofGarbage,
  redisAofTruncated,
  redisCrashAofAlways,
  redisCrashAofEverysec,
  redisCrashRdb,
  redisEmptyRestart,
  redisFailoverAsync,
  redisHealthy,
} from '../../experiments/redis.ts';
import { check, historyOf, out, requireCheck, run } from '../helpers.ts';

const faultDetail = (result: ExperimentResult) => result.faults.map((f) => f.detail ?? '').join(' ');

describe('Redis, healthy', () => {
  it('loses nothing: every acknowledged SET and RPUSH is on the primary and the replica, appends in order, the AOF and RDB check clean', async () => {
    const result = await run(redisHealthy);
    expect(result.verdict, result.checks.map((c) => `${c.name}: ${c.summary}`).join('\n')).toBe('pass');
    expect(result.writes.acknowledged).toBeGreaterThan(1000);
    expect(result.writes.lost).toBe(0);
    expect(check(result, 'order')?.valid).toBe(true);
    expect(check(result, 'replica-parity')?.valid).toBe(true);
    expect(check(result, 'integrity')?.summary).toMatch(/redis-check-aof/);
    expect(result.versions.redis).toMatch(/^Redis 8\./); // Debian stable's, the default
    const ops = historyOf(result).filter((e): e is OpEvent => e.type === 'ok' && 'f' in e);
    expect(ops.some((e) => e.f === 'write')).toBe(true);
    expect(ops.some((e) => e.f === 'append')).toBe(true);
  });

  it('on Valkey 8 with WAITAOF after each write: nothing lost, and WAITAOF confirmed the writes locally and on the replica', async () => {
    const valkey: ExperimentDefinition = {
      ...redisHealthy,
      name: 'valkey-healthy',
      // appendfsync always: WAITAOF returns once each AOF fsynced, which everysec would delay up to a second.
      topology: { domains: redisHealthy.topology.domains, redis: { ...redisHealthy.topology.redis!, engine: 'valkey', appendfsync: 'always' } },
      workload: { clients: 4, duration: '4s', waitAof: { local: 1, replicas: 1, timeout: '1s' } },
    };
    const result = await run(valkey);
    expect(result.verdict, result.checks.map((c) => `${c.name}: ${c.summary}`).join('\n')).toBe('pass');
    expect(result.versions.redis).toMatch(/^Valkey 8\./);
    const acked = historyOf(result).filter((e): e is OpEvent => e.type === 'ok' && 'f' in e && e.f !== 'read');
    expect(acked.length).toBeGreaterThan(100);
    // The guarantee WAITAOF gives: fsynced on the primary and on one replica before it returned.
    expect(acked.filter((e) => e.confirmed?.met).length).toBeGreaterThan(acked.length * 0.95);
    expect(acked.every((e) => Array.isArray(e.confirmed?.aof))).toBe(true);
  });
});

describe('Redis persistence, as documented', () => {
  it('RDB only: a crash loses every write since the last snapshot (none was due), and the run fails lost-writes', async () => {
    const result = await run(redisCrashRdb);
    expect(result.verdict).toBe('fail');
    expect(check(result, 'lost-writes')?.valid).toBe(false);
    expect(result.writes.lost).toBeGreaterThan(1000);
    expect(result.documented.ok).toBe(true);
  });

  it('AOF, appendfsync everysec: a process crash loses at most what Redis held back while a background fsync ran (the last 2 s)', async () => {
    const result = await run(redisCrashAofEverysec);
    expect(check(result, 'faults-applied')?.valid).toBe(true);
    expect(result.documented.ok, result.documented.why).toBe(true);
    expect(result.writes.acknowledged).toBeGreaterThan(1000);
    // Redis postpones the AOF write at most 2 s: anything lost was acknowledged in the 2 s before the kill.
    const killed = historyOf<{ type: string; phase?: string; time: number }>(result).find((e) => e.type === 'fault' && e.phase === 'active')!.time;
    const lost = (requireCheck(result, 'lost-writes').details.firstLost ?? []) as Array<{ ackTime: number }>;
    for (const write of lost) expect(killed - write.ackTime).toBeLessThan(2500);
    expect(result.writes.lost ?? 0).toBeLessThan(result.writes.acknowledged / 10);
  });

  it('AOF, appendfsync always: a process crash loses nothing', async () => {
    const result = await run(redisCrashAofAlways);
    expect(result.verdict, result.checks.map((c) => `${c.name}: ${c.summary}`).join('\n')).toBe('pass');
    expect(result.writes.lost).toBe(0);
  });

  it('a torn AOF tail: Redis starts anyway (aof-load-truncated) and the acknowledged writes in the cut bytes are lost', async () => {
    const result = await run(redisAofTruncated);
    expect(faultDetail(result)).toMatch(/loaded anyway because aof-load-truncated is enabled|Truncating the AOF/);
    expect(result.writes.lost).toBeGreaterThan(0);
    expect(result.writes.lost).toBeLessThan(20); // only what the 256 cut bytes held
    expect(check(result, 'restore-completed')?.valid).toBe(true);
    expect(result.documented.ok).toBe(true);
  });

  it('garbage in the middle of the AOF: Redis refuses to start, and redis-check-aof reports it', async () => {
    const result = await run(redisAofGarbage);
    expect(faultDetail(result)).toMatch(/does not start again: .*Bad file format/);
    expect(check(result, 'integrity')?.valid).toBe(false);
    expect(check(result, 'restore-completed')?.valid).toBe(false);
    expect(result.documented.ok).toBe(true);
  });

  it('a damaged RDB with RDB-only persistence: the restarted server refuses it (checksum)', async () => {
    const result = await run({
      ...redisCrashRdb,
      name: 'redis-rdb-damaged',
      faults: [{ at: '3s', fault: 'silent-corruption', target: 'primary', params: { kind: 'rdb', blocks: 1, bytes: 32 } }],
      shows: { failing: ['restore-completed'], why: 'a damaged RDB is refused' },
    });
    expect(faultDetail(result)).toMatch(/dump\.rdb.*does not start again/);
    expect(check(result, 'restore-completed')?.valid).toBe(false);
  });
});

describe('Redis replication, as documented', () => {
  it('promoting an asynchronous replica that was cut off loses acknowledged writes, though WAIT said 0 replicas had them', async () => {
    const result = await run(redisFailoverAsync);
    expect(result.verdict).toBe('fail');
    expect(result.writes.lost).toBeGreaterThan(0);
    const lost = check(result, 'lost-writes')!;
    expect(lost.valid).toBe(false);
    // WAIT told the truth: none of the lost writes had been confirmed by the replica.
    expect((lost.details as { confirmedLost?: number }).confirmedLost ?? 0).toBe(0);
    expect(historyOf(result).some((e) => e.type === 'ok' && 'confirmed' in e && e.confirmed?.met === false)).toBe(true);
    expect(result.documented.ok).toBe(true);
  });

  it('a primary with persistence off restarts empty, and its replica resynchronises to the empty data set', async () => {
    const result = await run(redisEmptyRestart);
    expect(result.writes.lost).toBeGreaterThan(1000);
    // The replica did not keep the data: it matches the (empty, then refilled) primary.
    expect(check(result, 'replica-parity')?.valid).toBe(true);
    expect(result.documented.ok).toBe(true);
  });
});

describe('the Redis Sidekick drill, from the command line', () => {
  it('faultline run redis-sidekick: the one-SAN layout never comes back; spread over domains it fails over with nothing lost and rehearses a restore', async () => {
    const dir = out('faultline-redis-');
    const cli = await execa('node', ['harness/cli.ts', 'run', 'redis-sidekick', '--out', dir, '--seed', '3', '--as-documented'], { reject: false });
    expect(cli.exitCode, `${cli.stdout}\n${cli.stderr}`).toBe(0); // both behaved as documented
    expect(cli.stdout).toMatch(/\s+redis-sidekick-naive\s+redis-sidekick-hardened\n/);
    for (const name of ['redis-sidekick-naive', 'redis-sidekick-hardened']) {
      for (const file of ['result.json', 'history.jsonl', 'junit.xml', 'report.html', 'final-state.json']) expect(existsSync(join(dir, name, 'latest', file)), `${name}/${file}`).toBe(true);
    }
    const naive = JSON.parse(readFileSync(join(dir, 'redis-sidekick-naive', 'latest', 'result.json'), 'utf8')) as ExperimentResult;
    expect(naive.verdict).toBe('fail');
    expect(naive.restore.completed).toBe(false);
    const hardened = JSON.parse(readFileSync(join(dir, 'redis-sidekick-hardened', 'latest', 'result.json'), 'utf8')) as ExperimentResult;
    expect(hardened.verdict).toBe('pass');
    expect(hardened.checks.find((c) => c.name === 'restore-rehearsal')?.valid).toBe(true);
    const list = await execa('node', ['harness/cli.ts', 'list']);
    expect(list.stdout).toMatch(/^PostgreSQL\n[\s\S]*\nRedis \/ Valkey\n {2}redis-sidekick-naive/m);
  });

  it('refuses WAITAOF on Redis 7 before anything starts, saying to use Redis 8 or Valkey', async () => {
    const onRedis7 = { ...redisHealthy, name: 'redis-waitaof', topology: pinVersions(redisHealthy.topology, { redis: 7 }) as ExperimentDefinition['topology'] };
    await expect(runExperiment({ ...onRedis7, workload: { waitAof: { local: 1, replicas: 0 } } }, { outDir: out('faultline-redis-') })).rejects.toThrow(
      /WAITAOF, which Redis 7 lacks \(it came in 7\.2\): set topology\.redis\.version to 8, or topology\.redis\.engine to 'valkey'/,
    );
  });
});

describe('the fault catalog on Redis nodes', () => {
  it('stalls, fills, pauses, slows and cuts off a Redis primary (AOF, appendfsync always): every fault takes effect and nothing acknowledged is lost', async () => {
    const result = await run({
      name: 'redis-storage-faults',
      description: 'storage, process and network faults on a Redis primary',
      topology: {
        domains: ['san-a', 'san-b'],
        redis: {
          appendonly: true,
          appendfsync: 'always',
          nodes: [
            { name: 'redis-primary', role: 'primary', domain: 'san-a' },
            { name: 'redis-replica', role: 'replica', domain: 'san-b' },
          ],
        },
      },
      workload: { clients: 4, duration: '9s', operationTimeoutMs: 3000 },
      faults: [
        { at: '500ms', fault: 'io-stall', target: 'primary', duration: '1s' },
        { at: '2s', fault: 'disk-full', target: 'primary', duration: '1s' },
        { at: '3500ms', fault: 'pause', target: 'primary', duration: '1s' },
        // Optional: kernels without sch_netem (this CI's) cannot add latency; the fault says so and is skipped.
        { at: '5s', fault: 'latency', target: 'primary', duration: '1s', optional: true },
        { at: '6500ms', fault: 'partition', target: 'primary~replica', duration: '1s' },
      ],
    });
    expect(check(result, 'faults-applied')?.valid, check(result, 'faults-applied')?.summary).toBe(true);
    expect(result.error).toBeUndefined();
    expect(result.writes.lost).toBe(0);
    expect(check(result, 'replica-parity')?.valid).toBe(true);
    expect(check(result, 'integrity')?.valid).toBe(true);
  });

  it("rolls a Redis primary's volume back to a snapshot: it restarts on the old AOF and acknowledged writes vanish", async () => {
    const result = await run({
      name: 'redis-stale-snapshot',
      description: 'a Redis LUN rolled back',
      topology: { domains: ['san-a'], redis: { appendonly: true, appendfsync: 'always', nodes: [{ name: 'redis-primary', role: 'primary', domain: 'san-a' }] } },
      workload: { clients: 4, duration: '6s' },
      faults: [{ at: '1500ms', fault: 'stale-snapshot', target: 'primary', duration: '2s' }],
    });
    expect(check(result, 'faults-applied')?.valid).toBe(true);
    expect(result.writes.lost).toBeGreaterThan(100);
    expect(check(result, 'lost-writes')?.valid).toBe(false);
    expect(check(result, 'restore-completed')?.valid).toBe(true);
  });
});
