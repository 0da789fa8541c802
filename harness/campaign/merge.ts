// Campaign folders on disk: a campaign writes campaign.json, junit.xml and report.html beside its
// runs; `faultline report --merge DIR…` reads the campaign.json of each folder (or, in a folder of
// plain runs, every result.json), and writes one summary, one junit.xml and one report.html for all.

import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ConfigError, UsageError, describeError } from '../errors.ts';
import { toJUnit } from '../report/junit.ts';
import type { ExperimentResult } from '../report/result.ts';
import { escapeXml } from '../report/junit.ts';
import { CAMPAIGN_SCHEMA_VERSION, entryOf, summarize, type CampaignEntry, type CampaignSummary } from './summary.ts';

export const CAMPAIGN_FILE = 'campaign.json';

/** How deep below a named folder campaign.json and result.json files are looked for. */
const MAX_DEPTH = 4;

function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new ConfigError(`Cannot read ${file}: ${describeError(error)}. Is it a faultline campaign's file, complete (the run may have been cut short)?`);
  }
}

/** Files named `name` under `dir` (itself included), not following symbolic links (`latest`). */
function findFiles(dir: string, name: string, depth = 0): string[] {
  if (existsSync(join(dir, name))) return [join(dir, name)];
  if (depth >= MAX_DEPTH) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.isSymbolicLink())
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((d) => findFiles(join(dir, d.name), name, depth + 1));
}

export interface LoadedRun {
  entry: CampaignEntry;
  /** The run's result.json, when its folder is still there. */
  result?: ExperimentResult;
  /** The run's folder, absolute. */
  dir: string;
}

/** The runs of the campaign folders named (each a campaign's --out, or a folder of them, or of plain runs). */
export function loadCampaignFolders(dirs: readonly string[]): { runs: LoadedRun[]; judgedBy: CampaignSummary['judgedBy']; sources: string[] } {
  if (dirs.length === 0) throw new UsageError("Name the campaign folders to merge: 'faultline report --merge shard-1 shard-2 …' (each the --out of one shard)");
  const runs: LoadedRun[] = [];
  const sources: string[] = [];
  const judged = new Set<CampaignSummary['judgedBy']>();
  for (const given of dirs) {
    const dir = resolve(given);
    if (!existsSync(dir) || !lstatSync(dir).isDirectory()) throw new UsageError(`--merge: '${given}' is not a folder (looked at ${dir}). Name each shard's --out folder.`);
    const campaigns = findFiles(dir, CAMPAIGN_FILE);
    if (campaigns.length > 0) {
      for (const file of campaigns) {
        const summary = readJson<CampaignSummary>(file);
        if (summary.schemaVersion !== CAMPAIGN_SCHEMA_VERSION || !Array.isArray(summary.entries)) {
          throw new ConfigError(`${file} is not a campaign summary this faultline reads (schemaVersion ${String(summary.schemaVersion)}, expected ${CAMPAIGN_SCHEMA_VERSION})`);
        }
        judged.add(summary.judgedBy);
        sources.push(file);
        for (const entry of summary.entries) {
          const runDir = resolve(dirname(file), entry.dir);
          const resultFile = join(runDir, 'result.json');
          runs.push({ entry, dir: runDir, ...(existsSync(resultFile) ? { result: readJson<ExperimentResult>(resultFile) } : {}) });
        }
      }
      continue;
    }
    // Plain runs (faultline run --out DIR without a campaign): every result.json below.
    const results = findFiles(dir, 'result.json');
    if (results.length === 0) throw new UsageError(`--merge: '${given}' holds no ${CAMPAIGN_FILE} and no result.json (looked ${MAX_DEPTH} folders deep). Name the --out folder of a faultline run.`);
    judged.add('verdict');
    sources.push(dir);
    for (const file of results) {
      const result = readJson<ExperimentResult>(file);
      runs.push({ entry: entryOf(result, { dir: dirname(file) }), result, dir: dirname(file) });
    }
  }
  if (judged.size > 1) throw new UsageError('--merge: some campaigns were judged as documented (--as-documented) and some by their verdicts; merge campaigns judged the same way');
  return { runs, judgedBy: [...judged][0] ?? 'verdict', sources };
}

/** Writes campaign.json, junit.xml and report.html into `out` for these runs; returns the summary. */
export function writeCampaignFiles(out: string, runs: readonly LoadedRun[], judgedBy: CampaignSummary['judgedBy'], title = 'faultline campaign'): CampaignSummary {
  mkdirSync(out, { recursive: true });
  const entries = runs.map((r) => ({ ...r.entry, dir: relative(out, r.dir) || '.' }));
  const summary = summarize(entries, judgedBy);
  const byKey = new Map(runs.map((r) => [`${r.entry.experiment}#${r.entry.seed}`, r.result]));
  const results = summary.entries.map((e) => byKey.get(`${e.experiment}#${e.seed}`)).filter((r): r is ExperimentResult => r !== undefined);
  writeFileSync(join(out, CAMPAIGN_FILE), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(out, 'junit.xml'), toJUnit(results));
  writeFileSync(join(out, 'report.html'), renderCampaignHtml(summary, title));
  return summary;
}

const esc = (text: unknown) => escapeXml(String(text));

/** One self-contained page: the pass rate per experiment, then every pair that did not pass with its replay command and a link to its report. */
export function renderCampaignHtml(summary: CampaignSummary, title = 'faultline campaign'): string {
  const failing = summary.entries.filter((e) => !e.ok);
  const rate = (r: number) => `${(100 * r).toFixed(r === 1 || r === 0 ? 0 : 1)} %`;
  const rows = summary.experiments
    .map((e) => `<tr class="${e.passed === e.runs ? 'ok' : 'bad'}"><td>${esc(e.experiment)}</td><td>${e.passed}/${e.runs}</td><td>${rate(e.passRate)}</td><td>${esc(e.failedSeeds.join(', ') || '—')}</td></tr>`)
    .join('\n');
  const fails = failing
    .map(
      (e) =>
        `<li><code>${esc(e.replay)}</code> <a href="${esc(join(e.dir, 'report.html'))}">report</a><ul>${e.why.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}: ${summary.passed}/${summary.pairs} passed</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
tr.bad td{background:#fdecea}tr.ok td{background:#eef8ee}code{background:#f4f4f4;padding:.1em .3em}li{margin:.4em 0}</style></head>
<body><h1>${esc(title)}</h1>
<p><strong>${summary.pairs}</strong> pair(s) (experiment, seed): <strong>${summary.passed}</strong> passed, <strong>${summary.failed}</strong> did not${summary.judgedBy === 'documented' ? ' (each judged by what its experiment documents)' : ''}.</p>
<h2>Pass rate per experiment</h2>
<table><thead><tr><th>experiment</th><th>passed/runs</th><th>rate</th><th>seeds that did not pass</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Pairs that did not pass</h2>
${failing.length === 0 ? '<p>None.</p>' : `<ol>\n${fails}\n</ol>`}
</body></html>
`;
}


