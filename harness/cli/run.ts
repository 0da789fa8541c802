// 'faultline run': experiments (shipped ones, or the user's drill files) with one seed, or a campaign
// of every experiment with every seed (--seeds), several clusters at once, optionally one CI shard.

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { experiments } from '../../experiments/index.ts';
import { campaignExitCode, campaignPairs, defaultParallel, formatCampaign, parseSeeds, parseShard, runCampaign, shardPairs, summarize, writeCampaignFiles, type PlannedRun } from '../campaign/index.ts';
import { installInterruptCleanup } from '../cluster/docker/index.ts';
import { pinVersions } from '../engines/registry.ts';
import { UsageError } from '../errors.ts';
import { isDrillFile, loadDrillFile } from '../experiment/drill-file.ts';
import type { ExperimentDefinition } from '../experiment/index.ts';
import { createProgress } from '../progress.ts';
import { randomSeed } from '../random.ts';
import { formatComparison, formatSummary, toJUnit } from '../report/index.ts';
import { checkWritable, parse, parseSeed, type Command } from './options.ts';
import { selectExperiments } from './select.ts';

export const usage =
  'faultline run <name|glob…> [--seed N | --seeds LIST] [--parallel N] [--shard i/n] [--out DIR] [--json] [--junit FILE] [--as-documented]\n\n' +
  "Runs experiments by name, glob ('pitr-*') or family ('sidekick' runs sidekick-*), or your own drill file\n" +
  "(./drills/my-drill.ts, .js, .mjs: its default export is a defineExperiment(…); .json: the same shape), with one seed for all,\n" +
  'several at once (each cluster isolated: its own network, volumes, names and ports).\n' +
  '  --postgres N  run PostgreSQL experiments on major N instead of the one their topology names (15, 17, 18)\n' +
  '  --redis N, --valkey N  run Redis experiments on Redis N (7, 8) or on Valkey N (8, 9) instead\n' +
  '  --seed N    replay a run exactly (a whole number, 0 or more; drawn when not given, and shown)\n' +
  '  --seeds LIST  a campaign: every experiment with every seed, e.g. 1..50, 1,2,7 or 1..10,20. Prints the pass\n' +
  '              rate per experiment and a replay command for each pair that did not pass, and writes\n' +
  '              DIR/campaign.json, DIR/junit.xml and DIR/report.html\n' +
  '  --parallel N  clusters at once (default: one per core, as far as free memory allows; said at the start)\n' +
  '  --shard i/n   run only shard i of n of the pairs (for a CI matrix: each runner its own i, the same n and\n' +
  "              command); the split depends only on the pairs. Merge the shards' --out folders with\n" +
  "              'faultline report --merge'\n" +
  '  --out DIR   where run folders go: DIR/<experiment>/<time>/ and a latest link (default faultline-out)\n' +
  '  --json      print the results as JSON (an array of result.json objects) instead of the summaries\n' +
  '  --junit FILE  one JUnit file for the whole invocation: a testsuite per experiment, a test case per check\n' +
  '  --as-documented  judge each experiment by what it documents: a safe setup must pass, a drill that\n' +
  '              shows a danger must fail the checks it names (its `shows`); for running the whole catalog in CI\n' +
  'Exit code: 0 every check held (with --as-documented: every experiment behaved as documented), 1 otherwise,\n' +
  '2 usage or configuration error, 3 environment error.';

export const command: Command = async (args) => {
  const { values, positionals } = parse(
    args,
    {
      seed: { type: 'string' },
      seeds: { type: 'string' },
      parallel: { type: 'string' },
      shard: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      junit: { type: 'string' },
      'as-documented': { type: 'boolean' },
      postgres: { type: 'string' },
      redis: { type: 'string' },
      valkey: { type: 'string' },
    },
    'run',
    true,
  );
  const documented = values['as-documented'] === true;
  if (values.junit) checkWritable(values.junit);
  if (positionals.length === 0) throw new UsageError(`Name the experiments to run, e.g. 'faultline run healthy'. 'faultline list' shows them.`);
  if (values.seed !== undefined && values.seeds !== undefined) throw new UsageError("Give either --seed N (one seed) or --seeds LIST (a campaign, e.g. --seeds 1..50), not both");
  // A path (./drills/my-drill.ts, .json) is the user's own drill; anything else names shipped ones.
  const selected: Array<{ definition: ExperimentDefinition; source: string }> = [];
  for (const argument of positionals) {
    const file = isDrillFile(argument);
    for (const definition of file ? [await loadDrillFile(argument)] : selectExperiments([argument], experiments)) {
      if (selected.some((s) => s.definition === definition || (file && s.source === argument))) continue;
      if (selected.some((s) => s.definition.name === definition.name)) throw new UsageError(`Two experiments named '${definition.name}' (${argument} and another): names must differ, since each names its run folder and replay`);
      selected.push({ definition, source: file ? argument : definition.name });
    }
  }
  // One seed for the whole invocation, drawn when none is given: the seed the summary shows
  // replays every experiment of this command at once. --seeds makes a campaign: every pair.
  const campaign = values.seeds !== undefined || values.shard !== undefined;
  const seeds = values.seeds !== undefined ? parseSeeds(values.seeds) : [values.seed === undefined ? randomSeed() : parseSeed(values.seed)];
  let pairs = campaignPairs(selected.map((s) => s.definition.name), seeds);
  const shard = values.shard === undefined ? undefined : parseShard(values.shard);
  if (shard) pairs = shardPairs(pairs, shard.index, shard.count);
  const parallel = parseParallel(values.parallel);
  const outDir = values.out ?? 'faultline-out';
  const pins = versionPins(values);
  const plan: PlannedRun[] = pairs.map((pair) => {
    const { definition, source } = selected.find((s) => s.definition.name === pair.experiment)!;
    return { definition: pinned(definition, pins), source, seed: pair.seed };
  });
  const log = createProgress();
  const at = Math.min(parallel.parallel, Math.max(1, plan.length));
  log(`faultline: ${plan.length} run(s)${shard ? ` (shard ${shard.index}/${shard.count} of ${campaignPairs(selected.map((s) => s.definition.name), seeds).length})` : ''}, ${at} at a time (${parallel.why})`);
  installInterruptCleanup();
  const outcomes = await runCampaign(plan, {
    parallel: parallel.parallel,
    outDir,
    log,
    documented,
    onResult: (result) => {
      if (campaign || values.json) return;
      log.pause(); // the summary goes to stdout; the status line must not run into it
      process.stdout.write(`${formatSummary(result, { documented })}\n\n`);
    },
  });
  log.pause();
  const results = outcomes.map((o) => o.result);
  if (values.junit) writeFileSync(values.junit, toJUnit(results));
  // 1 when a run failed; 3 when the only runs that did not pass broke (faultline's own failure).
  let code = campaignExitCode(summarize(outcomes.map((o) => o.entry)));
  if (campaign) {
    const summary = writeCampaignFiles(resolve(outDir), outcomes.map((o) => ({ entry: o.entry, result: o.result, dir: o.result.dir })), documented ? 'documented' : 'verdict', shard ? `faultline campaign, shard ${shard.index}/${shard.count}` : 'faultline campaign');
    code = campaignExitCode(summary);
    if (!values.json) process.stdout.write(`${formatCampaign(summary)}\nfiles: ${resolve(outDir)}/campaign.json, junit.xml, report.html\n`);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else if (!campaign && results.length > 1) process.stdout.write(`${formatComparison(results, { documented })}\n`);
  // --as-documented: a demonstration that fails as documented is what CI wants to see.
  return code;
};

/** --parallel N (1 to 16), or what the machine holds. */
function parseParallel(text: string | undefined): { parallel: number; why: string } {
  if (text === undefined) return defaultParallel();
  const parallel = Number(text);
  if (!/^\d+$/.test(text) || parallel < 1 || parallel > 16) throw new UsageError(`--parallel must be a whole number of clusters at once, 1 to 16: got '${text}'`);
  return { parallel, why: 'as asked' };
}

/** --postgres N, --redis N, --valkey N: the server versions to run on, whatever the topologies say. */
export function versionPins(values: { postgres?: string | undefined; redis?: string | undefined; valkey?: string | undefined }): Record<string, number> {
  const pins: Record<string, number> = {};
  for (const server of ['postgres', 'redis', 'valkey'] as const) {
    const text = values[server];
    if (text === undefined) continue;
    if (!/^\d+$/.test(text)) throw new UsageError(`--${server} takes a major version number, e.g. '--${server} ${server === 'postgres' ? 18 : 8}': got '${text}'`);
    pins[server] = Number(text);
  }
  if (pins.redis !== undefined && pins.valkey !== undefined) throw new UsageError('Give --redis N or --valkey N, not both: each names the server the Redis experiments run on');
  return pins;
}

/** The experiment with its topology's server versions pinned (itself when nothing is pinned). */
function pinned(definition: ExperimentDefinition, pins: Record<string, number>): ExperimentDefinition {
  if (Object.keys(pins).length === 0) return definition;
  return { ...definition, topology: pinVersions(definition.topology, pins) as ExperimentDefinition['topology'] };
}
