// A campaign's plan: the seeds a command line asks for ('1..50', '1,2,7', '1..10,20'), every
// (experiment, seed) pair they make with the experiments, and the pairs one shard of n runs.
// Sharding is a pure function of the pairs themselves, so every CI runner given the same command
// computes the same split, whatever the order of the experiments on its command line.

import { UsageError } from '../errors.ts';

/** The most pairs one invocation runs: a typo like '1..5000000' is refused, not started. */
export const MAX_PAIRS = 100_000;

/** One run of a campaign: an experiment (by its name) and a seed. */
export interface Pair {
  experiment: string;
  seed: number;
}

/** Seeds as typed after --seeds: ranges (a..b, both ends included) and single seeds, separated by commas. */
export function parseSeeds(text: string): number[] {
  const help = "write a range or a list of whole numbers, e.g. --seeds 1..50 or --seeds 1,2,7 or --seeds 1..10,20";
  const seeds: number[] = [];
  const seen = new Set<number>();
  const add = (seed: number) => {
    if (!seen.has(seed)) {
      seen.add(seed);
      seeds.push(seed);
    }
  };
  const whole = (part: string): number => {
    const seed = Number(part);
    if (!/^\d+$/.test(part) || !Number.isSafeInteger(seed)) throw new UsageError(`--seeds: '${part}' in '${text}' is not a whole number written in digits (0 or more): ${help}`);
    return seed;
  };
  if (text.trim() === '') throw new UsageError(`--seeds is empty: ${help}`);
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') throw new UsageError(`--seeds '${text}' has an empty item between commas: ${help}`);
    const range = /^(.*)\.\.(.*)$/.exec(part);
    if (!range) {
      add(whole(part));
      continue;
    }
    const from = whole(range[1]!.trim());
    const to = whole(range[2]!.trim());
    if (to < from) throw new UsageError(`--seeds: the range '${part}' ends before it starts: write the smaller seed first (${to}..${from})`);
    if (to - from + 1 > MAX_PAIRS) throw new UsageError(`--seeds: the range '${part}' holds ${to - from + 1} seeds; a campaign runs at most ${MAX_PAIRS} pairs`);
    for (let seed = from; seed <= to; seed++) add(seed);
  }
  return seeds;
}

/** --shard i/n: this runner's shard (1 to n) of n. */
export function parseShard(text: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) {
    throw new UsageError(`--shard must be i/n with 1 <= i <= n (this runner's shard of n; e.g. --shard 2/4 in a matrix of 4 runners): got '${text}'`);
  }
  return { index, count };
}

/** Every (experiment, seed) pair, experiments in the order given, each with every seed. */
export function campaignPairs(experiments: readonly string[], seeds: readonly number[]): Pair[] {
  const count = experiments.length * seeds.length;
  if (count > MAX_PAIRS) throw new UsageError(`${experiments.length} experiment(s) x ${seeds.length} seed(s) make ${count} pairs; a campaign runs at most ${MAX_PAIRS}. Use fewer seeds, or split with --shard.`);
  return experiments.flatMap((experiment) => seeds.map((seed) => ({ experiment, seed })));
}

/** The canonical order of pairs: by experiment name (code points), then seed. */
export function comparePairs(a: Pair, b: Pair): number {
  return a.experiment < b.experiment ? -1 : a.experiment > b.experiment ? 1 : a.seed - b.seed;
}

/**
 * The pairs shard `index` of `count` runs: the pairs in canonical order, dealt round-robin, so the
 * shards differ in size by at most one and each pair lands in exactly one. Returned in the order
 * given (so a shard runs its experiments in the command line's order).
 */
export function shardPairs(pairs: readonly Pair[], index: number, count: number): Pair[] {
  const mine = new Set([...pairs].sort(comparePairs).filter((_, i) => i % count === index - 1).map(pairKey));
  return pairs.filter((pair) => mine.has(pairKey(pair)));
}

export function pairKey(pair: Pair): string {
  return `${pair.experiment}#${pair.seed}`;
}
