import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  campaignPairs,
  defaultParallel,
  entryOf,
  formatCampaign,
  loadCampaignFolders,
  parseSeeds,
  parseShard,
  renderCampaignHtml,
  shardPairs,
  summarize,
  writeCampaignFiles,
  MEMORY_PER_CLUSTER,
  type CampaignSummary,
  type Pair,
} from '../../harness/campaign/index.ts';
import { buildResult, type ExperimentResult } from '../../harness/report/result.ts';
import { defaultExpectations, runCheckers } from '../../harness/checkers/index.ts';
import { UsageError } from '../../harness/errors.ts';
import { finalOf, historyOf, type SyntheticWrite } from './checkers/synthetic.ts';

const temp = mkdtempSync(join(tmpdir(), 'faultline-campaign-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('--seeds', () => {
  it('reads ranges and lists, in order, each seed once', () => {
    expect(parseSeeds('1..5')).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeeds('7')).toEqual([7]);
    expect(parseSeeds('1,2,7')).toEqual([1, 2, 7]);
    expect(parseSeeds('1..3, 10 ,2,20..21')).toEqual([1, 2, 3, 10, 20, 21]);
    expect(parseSeeds('0..0')).toEqual([0]);
  });

  it('refuses what is not a seed list, saying how to write one', () => {
    for (const bad of ['', 'a', '1..', '..3', '5..1', '1,,2', '1.5', '-1', '0x10', '1e3', '1..9999999']) {
      expect(() => parseSeeds(bad), bad).toThrow(UsageError);
    }
    expect(() => parseSeeds('5..1')).toThrow(/write the smaller seed first \(1\.\.5\)/);
    expect(() => parseSeeds('x')).toThrow(/e\.g\. --seeds 1\.\.50/);
  });
});

describe('--shard', () => {
  it('reads i/n with 1 <= i <= n', () => {
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
    expect(parseShard('3/4')).toEqual({ index: 3, count: 4 });
    for (const bad of ['0/2', '3/2', '1/0', '1', '1/2/3', 'a/b', '-1/2', '']) expect(() => parseShard(bad), bad).toThrow(UsageError);
  });

  const experiments = ['sidekick-naive', 'sidekick-hardened', 'healthy', 'pitr-restore', 'disk-full'];
  const key = (p: Pair) => `${p.experiment}#${p.seed}`;

  it('is a partition: every pair in exactly one shard, shard sizes within one of each other', () => {
    for (const seeds of [[1], [1, 2, 3], parseSeeds('1..50'), parseSeeds('3..4,100,7')]) {
      const pairs = campaignPairs(experiments, seeds);
      for (let count = 1; count <= 9; count++) {
        const shards = Array.from({ length: count }, (_, i) => shardPairs(pairs, i + 1, count));
        const all = shards.flat().map(key);
        expect(new Set(all).size).toBe(all.length); // no pair in two shards
        expect(new Set(all)).toEqual(new Set(pairs.map(key))); // and none left out
        const sizes = shards.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('is stable: the same pairs give the same shards, whatever order the command line named them in', () => {
    const seeds = parseSeeds('1..20');
    const forward = campaignPairs(experiments, seeds);
    const backward = campaignPairs([...experiments].reverse(), [...seeds].reverse());
    for (let i = 1; i <= 4; i++) {
      expect(new Set(shardPairs(backward, i, 4).map(key))).toEqual(new Set(shardPairs(forward, i, 4).map(key)));
    }
    // A fixed expectation, so a change of the rule (which would split a running CI matrix differently) shows.
    expect(shardPairs(campaignPairs(['b', 'a'], [1, 2, 3]), 1, 2).map(key)).toEqual(['b#2', 'a#1', 'a#3']);
    expect(shardPairs(campaignPairs(['b', 'a'], [1, 2, 3]), 2, 2).map(key)).toEqual(['b#1', 'b#3', 'a#2']);
  });

  it('refuses a campaign too large to be meant', () => {
    expect(() => campaignPairs(Array.from({ length: 30 }, (_, i) => `e${i}`), parseSeeds('1..5000'))).toThrow(/at most 100000/);
  });
});

/** A result of `experiment` with `seed`: passing, or losing two acknowledged writes. */
function result(experiment: string, seed: number, pass: boolean, dir: string): ExperimentResult {
  const writes: SyntheticWrite[] = Array.from({ length: 10 }, (_, i) => ({ key: i + 1, outcome: 'ok', applied: true }));
  const history = historyOf(writes);
  // A failing run lost the first two acknowledged writes.
  const final = finalOf(writes, Object.fromEntries(writes.filter((w) => pass || w.key > 2).map((w) => [String(w.key), `v${w.key}`])));
  return buildResult({
    experiment,
    seed,
    runId: `${experiment}-${seed}`,
    history,
    final,
    checks: runCheckers({ history, final, expectations: defaultExpectations }),
    timings: { clusterReadyMs: 1000, workloadMs: 5000, totalMs: 8000 + seed },
    versions: { postgres: 'PostgreSQL 15.18' },
    dir,
  });
}

/** The pairs' results, as runs would leave them on disk under `root` (result.json in each run folder). */
function runsOn(root: string, pairs: Pair[], failing: (p: Pair) => boolean): ExperimentResult[] {
  return pairs.map((p) => {
    const dir = join(root, p.experiment, `run-${p.seed}`);
    mkdirSync(dir, { recursive: true });
    const r = result(p.experiment, p.seed, !failing(p), dir);
    writeFileSync(join(dir, 'result.json'), JSON.stringify(r));
    return r;
  });
}

const withoutDirs = (s: CampaignSummary) => ({ ...s, entries: s.entries.map(({ dir: _dir, ...rest }) => rest) });

describe('merging shard results', () => {
  const pairs = campaignPairs(['sidekick-hardened', 'healthy', 'my-drill'], parseSeeds('1..12'));
  const failing = (p: Pair) => (p.experiment === 'sidekick-hardened' && p.seed % 5 === 0) || (p.experiment === 'my-drill' && p.seed === 7);

  it('gives the unsharded summary (in memory)', () => {
    const results = runsOn(join(temp, 'memory'), pairs, failing);
    const entryFor = (r: ExperimentResult) => entryOf(r, { dir: r.dir });
    const unsharded = summarize(results.map(entryFor));
    for (const count of [1, 2, 3, 5]) {
      const shards = Array.from({ length: count }, (_, i) => {
        const mine = new Set(shardPairs(pairs, i + 1, count).map((p) => `${p.experiment}#${p.seed}`));
        return summarize(results.filter((r) => mine.has(`${r.experiment}#${r.seed}`)).map(entryFor));
      });
      expect(summarize(shards.flatMap((s) => s.entries))).toEqual(unsharded);
    }
    expect(unsharded).toMatchObject({ pairs: 36, passed: 33, failed: 3 });
    expect(unsharded.experiments).toEqual([
      { experiment: 'healthy', runs: 12, passed: 12, passRate: 1, failedSeeds: [] },
      { experiment: 'my-drill', runs: 12, passed: 11, passRate: 11 / 12, failedSeeds: [7] },
      { experiment: 'sidekick-hardened', runs: 12, passed: 10, passRate: 10 / 12, failedSeeds: [5, 10] },
    ]);
  });

  it('gives the unsharded summary from the shards\' folders, with junit.xml and report.html for all', () => {
    const count = 3;
    const unshardedDir = join(temp, 'unsharded');
    const all = runsOn(unshardedDir, pairs, failing);
    const unsharded = writeCampaignFiles(unshardedDir, all.map((r) => ({ entry: entryOf(r, { dir: r.dir }), result: r, dir: r.dir })), 'verdict');
    const shardDirs = Array.from({ length: count }, (_, i) => {
      const dir = join(temp, `shard-${i + 1}`);
      const results = runsOn(dir, shardPairs(pairs, i + 1, count), failing);
      writeCampaignFiles(dir, results.map((r) => ({ entry: entryOf(r, { dir: r.dir }), result: r, dir: r.dir })), 'verdict');
      return dir;
    });
    const loaded = loadCampaignFolders(shardDirs);
    expect(loaded.sources).toHaveLength(count);
    const mergedDir = join(temp, 'merged');
    const merged = writeCampaignFiles(mergedDir, loaded.runs, loaded.judgedBy);
    expect(withoutDirs(merged)).toEqual(withoutDirs(unsharded));
    // The merged campaign.json is itself mergeable, and reads back to the same summary.
    expect(withoutDirs(writeCampaignFiles(join(temp, 'merged-again'), loadCampaignFolders([mergedDir]).runs, 'verdict'))).toEqual(withoutDirs(unsharded));
    const junit = readFileSync(join(mergedDir, 'junit.xml'), 'utf8');
    expect(junit.match(/<testsuite /g)).toHaveLength(36);
    const html = readFileSync(join(mergedDir, 'report.html'), 'utf8');
    expect(html).toContain('faultline run sidekick-hardened --seed 10');
    expect(html).toContain('faultline run my-drill --seed 7');
    expect(html).not.toContain('faultline run healthy --seed');
    // Each failing pair links to its own run's report, relative to the merged folder.
    expect(html).toContain('href="../shard-');
  });

  it('also merges folders of plain runs, and refuses a folder with neither campaign nor runs', () => {
    const plain = join(temp, 'plain');
    runsOn(plain, campaignPairs(['healthy'], [1, 2]), () => false);
    expect(summarize(loadCampaignFolders([plain]).runs.map((r) => r.entry))).toMatchObject({ pairs: 2, passed: 2 });
    const empty = join(temp, 'empty');
    mkdirSync(empty);
    expect(() => loadCampaignFolders([empty])).toThrow(/holds no campaign\.json and no result\.json/);
    expect(() => loadCampaignFolders([join(temp, 'nowhere')])).toThrow(/is not a folder/);
    expect(() => loadCampaignFolders([])).toThrow(UsageError);
  });
});

describe('a campaign summary', () => {
  it('names each pair that did not pass with the command that replays it (a drill file by its path)', () => {
    const dir = join(temp, 'replay');
    const failed = result('my-drill', 4, false, dir);
    const entry = entryOf(failed, { source: './drills/my drill.ts', dir: 'my-drill/x' });
    expect(entry).toMatchObject({ ok: false, replay: "faultline run './drills/my drill.ts' --seed 4" });
    expect(entry.why[0]).toMatch(/^lost-writes: /);
    const text = formatCampaign(summarize([entry, entryOf(result('healthy', 4, true, dir), { dir: 'h' })]));
    expect(text).toContain('2 pair(s), 1 passed, 1 did not');
    expect(text).toContain("faultline run './drills/my drill.ts' --seed 4");
    expect(renderCampaignHtml(summarize([entry]))).toContain('faultline run &#39;./drills/my drill.ts&#39; --seed 4'.replace(/&#39;/g, "'"));
  });

  it('judges as documented when asked: a drill that fails as documented passes, and its replay says so', () => {
    const r = { ...result('archive-gap', 2, false, temp), documented: { ok: true, why: 'failed as documented' } };
    expect(entryOf(r, { documented: true, dir: '.' })).toMatchObject({ ok: true, replay: 'faultline run archive-gap --seed 2 --as-documented' });
    expect(entryOf(r, { dir: '.' })).toMatchObject({ ok: false });
  });
});

describe('how many clusters at once by default', () => {
  it('one per core, as far as free memory allows, at least one, and says why', () => {
    expect(defaultParallel(2, 22 * 1024 ** 3).parallel).toBe(2);
    expect(defaultParallel(8, 3.5 * MEMORY_PER_CLUSTER).parallel).toBe(3);
    expect(defaultParallel(4, 0.2 * MEMORY_PER_CLUSTER).parallel).toBe(1);
    expect(defaultParallel(2, 22 * 1024 ** 3).why).toMatch(/2 core\(s\), 22\.0 of [\d.]+ GiB free/);
  });
});
