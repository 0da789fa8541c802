// Every node's logs are kept with the run, under logs/<node>/ in its folder, whatever ended it: a
// pass, a failure (nodes lost with their SAN included), a run that broke, a Ctrl-C; and report.html
// links them.

import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { defineExperiment, type ExperimentDefinition, type ExperimentResult } from '../../harness/experiment/index.ts';
import healthy from '../../experiments/healthy.ts';
import sidekickNaive from '../../experiments/sidekick-naive.ts';
import { defaultTopology } from '../../harness/engines/postgres/index.ts';
import { nothingLeft, out, run, waitForNoLeftovers } from '../helpers.ts';
import type { LogsManifest } from '../../harness/report/logs.ts';

// A replica says 'ready to accept read-only connections'.
const PG_READY = /database system is ready to accept (read-only )?connections/;
const short = (definition: ExperimentDefinition, duration: string): ExperimentDefinition => ({ ...definition, workload: { ...definition.workload, duration } });

const read = (dir: string, ...path: string[]) => readFileSync(join(dir, 'logs', ...path), 'utf8');
const manifestOf = (dir: string) => JSON.parse(read(dir, 'logs.json')) as LogsManifest;

/** Every node has its container output; every node in `servers` a server log with `line` in it. */
function expectServerLogs(dir: string, nodes: string[], servers: string[], file: string, line: RegExp | string): void {
  expect(readdirSync(join(dir, 'logs')).filter((f) => f !== 'logs.json').sort()).toEqual([...nodes].sort());
  for (const node of nodes) expect(read(dir, node, 'container.log'), node).toMatch(/faultline-node: ready/);
  for (const node of servers) expect(read(dir, node, file), `${node}/${file}`).toMatch(line);
}

/** result.json and report.html list what logs.json lists, each a file that is there, linked relatively. */
function expectListed(result: ExperimentResult): void {
  const { logs, problems } = manifestOf(result.dir);
  expect(problems).toEqual([]);
  expect(result.logs).toEqual(logs);
  const saved = JSON.parse(readFileSync(join(result.dir, 'result.json'), 'utf8')) as ExperimentResult;
  expect(saved.logs).toEqual(logs);
  const html = readFileSync(join(result.dir, 'report.html'), 'utf8');
  expect(html).toContain('<h2>Logs</h2>');
  for (const log of logs) {
    expect(existsSync(join(result.dir, log.path)), log.path).toBe(true);
    expect(log.path).toBe(`logs/${log.node}/${log.file}`);
    expect(html).toContain(`href="${log.path}"`);
  }
}

describe('the nodes\' logs kept with a run', () => {
  it('keeps every PostgreSQL node\'s server log, the archiver\'s and each container\'s output after a passing run', async () => {
    const result = await run(short(healthy, '2s'));
    expect(result.verdict, JSON.stringify(result.checks.filter((c) => !c.ok))).toBe('pass');
    expectServerLogs(result.dir, ['pg-primary', 'pg-replica', 'pg-archive'], ['pg-primary', 'pg-replica'], 'postgresql.log', PG_READY);
    expect(existsSync(join(result.dir, 'logs', 'pg-archive', 'pg_receivewal.log'))).toBe(true);
    expectListed(result);
    expect(result.logs!.every((l) => !l.truncated)).toBe(true);
  });

  it("keeps a Redis node's server log and the backup loop's", async () => {
    const result = await run(
      defineExperiment({
        name: 'logs-redis',
        description: 'Redis primary, replica and backup node, no fault',
        topology: {
          domains: ['san-a', 'san-b'],
          redis: {
            appendonly: true,
            appendfsync: 'everysec',
            nodes: [
              { name: 'redis-primary', role: 'primary', domain: 'san-a' },
              { name: 'redis-replica', role: 'replica', domain: 'san-b' },
              { name: 'redis-backup', role: 'archive', domain: 'san-b' },
            ],
          },
        },
        workload: { clients: 2, duration: '2s' },
        expect: { maxLostWrites: 0 },
      }),
    );
    expect(result.verdict, JSON.stringify(result.checks.filter((c) => !c.ok))).toBe('pass');
    expectServerLogs(result.dir, ['redis-primary', 'redis-replica', 'redis-backup'], ['redis-primary', 'redis-replica'], 'redis.log', 'Ready to accept connections');
    expect(read(result.dir, 'redis-backup', 'backup.log')).toMatch(/\.rdb/);
    expectListed(result);
  });

  it('keeps the logs of nodes lost with their SAN (collected before their containers went) after a failing run', async () => {
    const result = await run(sidekickNaive);
    expect(result.verdict).toBe('fail');
    expect(result.writes.lost).toBeGreaterThan(0);
    expectServerLogs(result.dir, ['pg-primary', 'pg-replica', 'pg-archive'], ['pg-primary', 'pg-replica'], 'postgresql.log', PG_READY);
    // The primary's log runs up to the loss: the corruption fault restarted its server after the stall.
    expect(read(result.dir, 'pg-primary', 'postgresql.log').match(new RegExp(PG_READY, 'g'))!.length).toBeGreaterThan(1);
    expectListed(result);
  });

  it('keeps the logs of a run that broke after its cluster started', async () => {
    const broken = defineExperiment({
      ...short(healthy, '2s'),
      name: 'logs-broken',
      schedule: [
        {
          at: '500ms',
          name: 'a step that throws',
          run: async () => {
            throw new Error('this step breaks the run');
          },
        },
      ],
    });
    const result = await run(broken, 1, { runIdOptional: true });
    expect(result.verdict).toBe('broken');
    expect(result.error).toMatch(/this step breaks the run/);
    expectServerLogs(result.dir, ['pg-primary', 'pg-replica', 'pg-archive'], ['pg-primary', 'pg-replica'], 'postgresql.log', PG_READY);
    expectListed(result);
  });

  it('keeps the logs of a cluster whose server refused to start, and lists its FATAL line', async () => {
    const refused = defineExperiment({
      ...short(healthy, '2s'),
      name: 'logs-refused',
      topology: { ...defaultTopology, postgres: { ...defaultTopology.postgres, settings: { work_mem: '1kB' } } },
    });
    const result = await run(refused, 1, { runIdOptional: true });
    expect(result.verdict).toBe('broken');
    expect(result.error).toMatch(/PostgreSQL did not start/);
    const log = read(result.dir, 'pg-primary', 'postgresql.log');
    expect(log).toMatch(/FATAL: .*configuration file .* contains errors/);
    // The run error quotes the server's own words (fl-pg prints the log's tail), and the report lists the FATAL line.
    expect(result.error).toMatch(/work_mem/);
    const primaryLog = result.logs!.find((l) => l.node === 'pg-primary' && l.file === 'postgresql.log')!;
    expect(primaryLog.notable!.some((line) => /FATAL: .*contains errors/.test(line))).toBe(true);
    expect(readFileSync(join(result.dir, 'report.html'), 'utf8')).toMatch(/<code>[^<]*FATAL: [^<]*contains errors/);
    // Every container of the run had its output kept, started server or not.
    for (const node of ['pg-primary', 'pg-replica', 'pg-archive']) expect(read(result.dir, node, 'container.log')).toMatch(/faultline-node: ready/);
  });

  it('keeps the logs of a run interrupted with SIGINT', async () => {
    const dir = out('faultline-logs-');
    const child = execa('node', ['harness/cli.ts', 'run', 'healthy', '--out', dir, '--seed', '1'], { reject: false, all: true });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/healthy: workload:/.test(output)) resolve();
      });
      void child.then(() => reject(new Error(`faultline run ended before the workload:\n${output}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    child.kill('SIGINT');
    const ended = await child;
    expect(ended.exitCode, ended.all).toBe(130);
    const runId = /run ([0-9a-f]{8}):/.exec(output)?.[1];
    expect(await waitForNoLeftovers(runId!)).toEqual(nothingLeft);
    const runDir = realpathSync(join(dir, 'healthy', 'latest'));
    expectServerLogs(runDir, ['pg-primary', 'pg-replica', 'pg-archive'], ['pg-primary', 'pg-replica'], 'postgresql.log', PG_READY);
    expect(manifestOf(runDir).problems).toEqual([]);
  });
});
