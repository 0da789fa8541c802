// Which experiments a command line names: exact names, globs ('pitr-*') and families ('sidekick'),
// each once, in order, with a "did you mean" for a name that matches none.

import { UsageError } from '../errors.ts';
import type { ExperimentDefinition } from '../experiment/index.ts';
import { didYouMean } from '../schema.ts';

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/**
 * The experiments named on the command line, in order, each once: a name or a glob; a name that is
 * no experiment's stands for its family ('sidekick' runs sidekick-naive and sidekick-hardened).
 */
export function selectExperiments(patterns: string[], known: ExperimentDefinition[]): ExperimentDefinition[] {
  const selected = patterns.flatMap((pattern) => {
    const exact = known.filter((e) => globToRegExp(pattern).test(e.name));
    const matches = exact.length > 0 ? exact : known.filter((e) => e.name.startsWith(`${pattern}-`));
    if (matches.length === 0) {
      const guess = didYouMean(pattern, known.map((e) => e.name));
      throw new UsageError(`No experiment matches '${pattern}'${guess ? ` (did you mean '${guess}'?)` : ''}. Known: ${known.map((e) => e.name).join(', ')} ('faultline list' describes them).`);
    }
    return matches;
  });
  return [...new Set(selected)];
}
