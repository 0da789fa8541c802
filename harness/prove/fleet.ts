// A fleet of backups proved side by side (one stanza per database): every backup is inspected before
// any starts, each image is built once, then N proofs run at a time, and the whole is written as a
// campaign (campaign.json, junit.xml, report.html), so `--shard i/n` and `report --merge` work as for `run`.

import { relative, resolve } from 'node:path';
import { entryOf, shardPairs, writeCampaignFiles, type CampaignEntry, type CampaignSummary } from '../campaign/index.ts';
import type { ExperimentResult } from '../report/result.ts';
import { preflight, proveBackup, type Preflight, type ProveRequest } from './run.ts';

export interface FleetOptions {
  parallel: number;
  outDir: string;
  log: (line: string) => void;
  /** Only this shard of the fleet (1-based index of count), as CI matrices split it. */
  shard?: { index: number; count: number };
  /** The command that proves one member again, for the summary (`faultline prove-backup … --stanza NAME`). */
  replay: (request: ProveRequest) => string;
}

export interface FleetOutcome {
  results: ExperimentResult[];
  summary: CampaignSummary;
}

/**
 * Proves every request (each named: its folder and JUnit suite), `parallel` at a time. Bad input in
 * any of them is thrown before anything starts; a proof that breaks is a result like any other.
 */
export async function proveFleet(requests: readonly ProveRequest[], options: FleetOptions): Promise<FleetOutcome> {
  const { log } = options;
  const pairs = requests.map((r) => ({ experiment: r.name ?? 'prove-backup', seed: 0 }));
  const chosen = options.shard ? new Set(shardPairs(pairs, options.shard.index, options.shard.count).map((p) => p.experiment)) : undefined;
  const planned = requests.filter((r) => !chosen || chosen.has(r.name ?? 'prove-backup'));
  const ready: Preflight[] = [];
  for (const request of planned) ready.push(await preflight(request));
  // Each image once, before proofs run side by side: two would build it at once.
  const images = new Map<string, string>();
  for (const checked of ready) {
    const key = `${checked.engine.name}:${checked.backup.server}:${checked.backup.major}`;
    if (!images.has(key)) images.set(key, await checked.ability.image(checked.backup, { log }));
  }
  const parallel = Math.max(1, Math.min(options.parallel, planned.length));
  log(`prove-backup: ${planned.length} backup(s)${options.shard ? ` (shard ${options.shard.index}/${options.shard.count} of ${requests.length})` : ''}, ${parallel} at a time`);
  const results: ExperimentResult[] = new Array(planned.length);
  const entries: CampaignEntry[] = new Array(planned.length);
  let next = 0;
  let done = 0;
  let stopped: unknown;
  const worker = async () => {
    while (next < planned.length && stopped === undefined) {
      const index = next++;
      const request = planned[index]!;
      const name = request.name ?? 'prove-backup';
      try {
        const result = await proveBackup({ ...request, log: parallel > 1 ? (line) => log(`[${name}] ${line.startsWith(`${name}: `) ? line.slice(name.length + 2) : line}`) : log }, ready[index]!);
        results[index] = result;
        entries[index] = { ...entryOf(result, { dir: relative(resolve(options.outDir), result.dir) }), replay: options.replay(request) };
        done++;
        log(`${result.verdict === 'pass' ? 'passed' : 'DID NOT PASS'}: ${name}; ${done}/${planned.length} done`);
      } catch (error) {
        stopped ??= error; // an interrupt, or an environment error: nothing new starts
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  if (stopped !== undefined) throw stopped;
  const summary = writeCampaignFiles(
    resolve(options.outDir),
    results.map((result, i) => ({ entry: entries[i]!, result, dir: result.dir })),
    'verdict',
    options.shard ? `faultline prove-backup, shard ${options.shard.index}/${options.shard.count}` : 'faultline prove-backup',
  );
  return { results, summary };
}
