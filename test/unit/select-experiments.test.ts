import { describe, expect, it } from 'vitest';
import { selectExperiments } from '../../harness/cli.ts';
import { experiments } from '../../experiments/index.ts';

const names = (patterns: string[]) => selectExperiments(patterns, experiments).map((e) => e.name);

describe('choosing experiments on the command line', () => {
  it('runs exactly the experiment named, even when others share its name as a prefix', () => {
    expect(names(['pitr-restore'])).toEqual(['pitr-restore']);
    expect(names(['io-stall'])).toEqual(['io-stall']);
  });

  it('takes a name that is no experiment of its own as its family', () => {
    expect(names(['sidekick'])).toEqual(['sidekick-naive', 'sidekick-hardened']);
  });

  it('takes globs, keeps the order given and runs each experiment once', () => {
    expect(names(['pitr-*'])).toEqual(['pitr-restore', 'pitr-restore-pgbackrest']);
    expect(names(['healthy', 'sidekick-*', 'sidekick-naive'])).toEqual(['healthy', 'sidekick-naive', 'sidekick-hardened']);
  });

  it('refuses a name that matches nothing, listing the known ones', () => {
    expect(() => names(['sidekik'])).toThrow(/No experiment matches 'sidekik'\. Known: sidekick-naive, sidekick-hardened,/);
  });
});
