// 'faultline report': check a run again from its files (also one that crashed), or with --merge
// make one campaign summary of campaigns run apart (CI shards).

import { resolve } from 'node:path';
import { campaignExitCode, formatCampaign, loadCampaignFolders, writeCampaignFiles } from '../campaign/index.ts';
import { UsageError } from '../errors.ts';
import { recheckRun } from '../experiment/index.ts';
import { exitCodeOf, formatSummary } from '../report/index.ts';
import { formatProof } from '../prove/index.ts';
import { parse, type Command } from './options.ts';

export const usage =
  'faultline report DIR [--json] [--write]\nfaultline report --merge DIR… [--out DIR] [--json]\n\nChecks a run again from its files (a run folder, or an experiment folder for its latest run), also one that crashed, and prints the result.\n' +
  "  --json   print the result as JSON, as 'run --json' does (an array of result.json objects)\n  --write  also rewrite the run's result.json, junit.xml and report.html (by default its files are left as they are)\n" +
  "  --merge  merge campaigns run apart (the --out folders of 'faultline run --seeds … --shard i/n', or folders of plain\n" +
  '           runs) into one campaign.json, junit.xml and report.html (in --out DIR, default faultline-report): the pass\n' +
  '           rate per experiment and each pair that did not pass with its replay command. Exit 1 when one did not pass.';

export const command: Command = async (args) => {
  const parsed = parse(args, { json: { type: 'boolean' }, write: { type: 'boolean' }, merge: { type: 'boolean' }, out: { type: 'string' } }, 'report', true);
  if (parsed.values.merge) return mergeReport(parsed.positionals, parsed.values.out ?? 'faultline-report', parsed.values.json === true);
  if (parsed.values.out !== undefined) throw new UsageError("--out goes with --merge: 'faultline report --merge shard-1 shard-2 --out merged'");
  const [dir] = parsed.positionals;
  if (!dir || parsed.positionals.length > 1) throw new UsageError('Usage: faultline report DIR (the folder of a run, or of an experiment for its latest run)');
  const { result, skippedLines, complete } = recheckRun(dir, { write: parsed.values.write === true });
  if (!complete) process.stderr.write(`faultline: the run in ${result.dir} did not finish; checking the history it left\n`);
  if (skippedLines > 0) process.stderr.write(`faultline: ${skippedLines} unreadable line(s) in history.jsonl were skipped (a write cut short by the crash)\n`);
  // The same shape as `run --json`: an array of results.
  process.stdout.write(parsed.values.json ? `${JSON.stringify([result], null, 2)}\n` : `${result.prove ? formatProof(result) : formatSummary(result)}\n`);
  return exitCodeOf([result.verdict]);
};

/** `report --merge DIR…`: one summary, junit.xml and report.html for the campaigns (shards) in the folders. */
function mergeReport(dirs: string[], out: string, json: boolean): number {
  const { runs, judgedBy, sources } = loadCampaignFolders(dirs);
  const summary = writeCampaignFiles(resolve(out), runs, judgedBy, `faultline campaign, merged from ${sources.length} folder(s)`);
  const missing = runs.filter((r) => !r.result).length;
  if (missing > 0) process.stderr.write(`faultline: ${missing} run folder(s) named in the campaigns are gone; their pairs count in the summary but are not in junit.xml\n`);
  process.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatCampaign(summary)}\nmerged ${sources.length} campaign folder(s) into ${resolve(out)}: campaign.json, junit.xml, report.html\n`);
  return campaignExitCode(summary);
}
