import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultTopology, type PostgresTopologySpec } from '../../harness/engines/postgres/index.ts';
import { cli } from '../helpers.ts';

// Bad input is refused before anything starts. These runs point DOCKER_HOST at a socket that does
// not exist: a configuration error must be found (exit 2) without ever needing a Docker engine.
const noDocker = { DOCKER_HOST: 'unix:///nonexistent/faultline-test.sock' };
const dir = mkdtempSync(join(tmpdir(), 'faultline-cli-'));

function topologyFile(mutate: (spec: PostgresTopologySpec) => void): string {
  const spec = structuredClone(defaultTopology);
  mutate(spec);
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

describe('faultline up with bad input', () => {
  it.each([
    ['an unknown failure domain', (s: PostgresTopologySpec) => (s.postgres.nodes[2]!.domain = 'tape-vault'), /Node 'pg-archive' is placed in failure domain 'tape-vault', which the topology does not declare/],
    ['a replica without a primary', (s: PostgresTopologySpec) => (s.postgres.nodes = s.postgres.nodes.slice(1)), /Node 'pg-replica' is a replica without a primary to follow: add a node with role 'primary'/],
    ['a volume too small for PostgreSQL', (s: PostgresTopologySpec) => (s.postgres.nodes[0]!.volumeSize = '16M'), /Volume size must be at least 64 MiB for PostgreSQL: got '16M' on node 'pg-primary'/],
  ])('refuses %s with exit code 2 and a message naming the problem, before touching Docker', async (_name, mutate, message) => {
    const file = topologyFile(mutate);
    const result = await cli(['up', '--topology', file], { env: noDocker });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain(file); // says where the bad value is
  });

  it('refuses a topology file that is not JSON with exit code 2', async () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ domains: ');
    const result = await cli(['up', '--topology', file], { env: noDocker });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/is not valid JSON/);
  });

  it('reports a missing Docker engine with exit code 3 and how to fix it', async () => {
    const result = await cli(['up'], { env: noDocker });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/No Docker engine answered at DOCKER_HOST=unix:\/\/\/nonexistent\/faultline-test.sock/);
    expect(result.stderr).toMatch(/Start the Docker daemon/);
  });

  it('refuses unknown commands and options with exit code 2', async () => {
    expect((await cli(['explode'])).exitCode).toBe(2);
    const result = await cli(['up', '--frobnicate']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/frobnicate/);
  });
});

describe('campaign options with bad input', () => {
  it.each([
    [['run', 'healthy', '--seed', '1', '--seeds', '1..3'], /Give either --seed N \(one seed\) or --seeds LIST/],
    [['run', 'healthy', '--seeds', '5..1'], /the range '5\.\.1' ends before it starts: write the smaller seed first \(1\.\.5\)/],
    [['run', 'healthy', '--seeds', 'ten'], /--seeds: 'ten' in 'ten' is not a whole number/],
    [['run', 'healthy', '--shard', '3/2'], /--shard must be i\/n with 1 <= i <= n/],
    [['run', 'healthy', '--parallel', '0'], /--parallel must be a whole number of clusters at once, 1 to 16: got '0'/],
    [['report', '--merge', '/nonexistent/shard-1'], /--merge: '\/nonexistent\/shard-1' is not a folder/],
    [['report', '--merge'], /Name the campaign folders to merge/],
    [['report', 'x', '--out', 'y'], /--out goes with --merge/],
  ])('refuses %j with exit code 2, before touching Docker', async (args, message) => {
    const result = await cli(args, { env: noDocker });
    expect(result.exitCode, result.all).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe('validate --sentinel-conf with bad input', () => {
  const sentinel = join(dir, 'sentinel.conf');
  writeFileSync(sentinel, 'sentinel monitor mymaster 10.0.0.1 6379 2\n');
  it.each([
    [['validate', '--sentinel-conf', sentinel, '--postgres-conf', sentinel], /--sentinel-conf drills a Redis cluster under Sentinel; --postgres-conf is for PostgreSQL: run them in a validate of their own/],
    [['validate', '--postgres-conf', sentinel, '--redis-conf', sentinel], /--redis-conf goes with --sentinel-conf/],
    [['validate', '--sentinel-conf', sentinel, '--drill', 'ha-frozen-patroni'], /--drill 'ha-frozen-patroni' is not a drill beside Sentinel.*: use ha-isolated-primary, ha-stalled-primary, ha-san-lost/],
    [['validate', '--sentinel-conf', join(dir, 'missing.conf'), '--no-drills'], /Cannot read Sentinel configuration/],
  ])('refuses %j with exit code 2, before touching Docker', async (args, message) => {
    const result = await cli(args, { env: noDocker });
    expect(result.exitCode, result.all).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
