// A campaign's summary: every pair's outcome, the pass rate per experiment, and each pair that did
// not pass with the command that replays it. A campaign writes it as campaign.json beside its runs;
// `faultline report --merge` builds the same summary from several campaigns' folders (the shards of
// one CI matrix), so a merged summary equals the one an unsharded campaign would have written.

import type { ExperimentResult, Verdict } from '../report/result.ts';
import { comparePairs, type Pair } from './plan.ts';

export const CAMPAIGN_SCHEMA_VERSION = 1;

/** One pair's outcome, as the summary keeps it. */
export interface CampaignEntry extends Pair {
  /** Whether the pair passed: its verdict, or with --as-documented, whether it behaved as documented. */
  ok: boolean;
  verdict: Verdict;
  /** The checks that did not hold (failed or unknown), and a run error, as one line each. */
  why: string[];
  /** The command that replays this pair. */
  replay: string;
  durationMs: number;
  /** The run's folder, relative to the campaign's folder (as written in campaign.json). */
  dir: string;
}

export interface ExperimentRate {
  experiment: string;
  runs: number;
  passed: number;
  /** passed / runs, 0 to 1. */
  passRate: number;
  /** The seeds that did not pass, in order. */
  failedSeeds: number[];
}

export interface CampaignSummary {
  schemaVersion: number;
  /** 'verdict': a pair passes when its checks hold; 'documented': when it behaves as its experiment documents. */
  judgedBy: 'verdict' | 'documented';
  pairs: number;
  passed: number;
  /** Pairs that did not pass, broken ones included. */
  failed: number;
  /** Of those, the pairs whose run broke (faultline's own failure: nothing shown either way). */
  broken: number;
  experiments: ExperimentRate[];
  /** Every pair, in canonical order (experiment name, then seed). */
  entries: CampaignEntry[];
}

/** The command that replays one run: the experiment's name, or the drill file it came from. */
export function replayCommand(source: string, seed: number, documented = false): string {
  const quoted = /^[\w./@:+-]+$/.test(source) ? source : `'${source.replace(/'/g, `'\\''`)}'`;
  return `faultline run ${quoted} --seed ${seed}${documented ? ' --as-documented' : ''}`;
}

/** One pair's entry from its result. `source` is what the command line named (a name or a drill file). */
export function entryOf(result: ExperimentResult, options: { source?: string; documented?: boolean; dir: string }): CampaignEntry {
  const documented = options.documented === true;
  const why = result.checks.filter((c) => c.valid === false || c.valid === 'unknown').map((c) => `${c.name}: ${c.summary}`);
  if (result.error) why.push(`run error: ${result.error.split('\n')[0]}`);
  if (documented && !result.documented.ok) why.unshift(`not as documented: ${result.documented.why}`);
  return {
    experiment: result.experiment,
    seed: result.seed,
    ok: documented ? result.documented.ok : result.verdict === 'pass',
    verdict: result.verdict,
    why,
    replay: replayCommand(options.source ?? result.experiment, result.seed, documented),
    durationMs: result.timings.totalMs,
    dir: options.dir,
  };
}

/** The summary of a set of entries (any order; a pair given twice counts once, the last one given). */
export function summarize(entries: readonly CampaignEntry[], judgedBy: CampaignSummary['judgedBy'] = 'verdict'): CampaignSummary {
  const unique = new Map<string, CampaignEntry>();
  for (const entry of entries) unique.set(`${entry.experiment}#${entry.seed}`, entry);
  const sorted = [...unique.values()].sort(comparePairs);
  const rates = new Map<string, ExperimentRate>();
  for (const entry of sorted) {
    const rate = rates.get(entry.experiment) ?? { experiment: entry.experiment, runs: 0, passed: 0, passRate: 0, failedSeeds: [] };
    rate.runs++;
    if (entry.ok) rate.passed++;
    else rate.failedSeeds.push(entry.seed);
    rate.passRate = rate.passed / rate.runs;
    rates.set(entry.experiment, rate);
  }
  const passed = sorted.filter((e) => e.ok).length;
  const broken = sorted.filter((e) => !e.ok && e.verdict === 'broken').length;
  return { schemaVersion: CAMPAIGN_SCHEMA_VERSION, judgedBy, pairs: sorted.length, passed, failed: sorted.length - passed, broken, experiments: [...rates.values()], entries: sorted };
}

const percent = (rate: number) => `${(100 * rate).toFixed(rate === 1 || rate === 0 ? 0 : 1)} %`;

/** The summary as a person reads it: pass rate per experiment, then each pair that did not pass and its replay. */
export function formatCampaign(summary: CampaignSummary): string {
  const width = Math.max('experiment'.length, ...summary.experiments.map((e) => e.experiment.length));
  const lines = [
    `campaign: ${summary.pairs} pair(s), ${summary.passed} passed, ${summary.failed} did not${summary.broken ? ` (${summary.broken} broke: faultline's own failure)` : ''}${summary.judgedBy === 'documented' ? ' (judged as documented)' : ''}`,
    `  ${'experiment'.padEnd(width)}  ${'passed/runs'.padStart(11)}  ${'rate'.padStart(7)}`,
    ...summary.experiments.map((e) => `  ${e.experiment.padEnd(width)}  ${`${e.passed}/${e.runs}`.padStart(11)}  ${percent(e.passRate).padStart(7)}`),
  ];
  const failing = summary.entries.filter((e) => !e.ok);
  if (failing.length > 0) {
    lines.push('did not pass (replay each with its command):');
    for (const e of failing) lines.push(`  ${e.replay}`, ...e.why.slice(0, 3).map((w) => `      ${w.length > 240 ? `${w.slice(0, 237)}...` : w}`));
  }
  return lines.join('\n');
}

/** The exit code of a campaign: 0 all passed; 1 a pair failed; 3 the only pairs that did not pass broke. */
export function campaignExitCode(summary: Pick<CampaignSummary, 'failed' | 'broken'>): 0 | 1 | 3 {
  if (summary.failed === 0) return 0;
  return summary.failed === (summary.broken ?? 0) ? 3 : 1;
}
