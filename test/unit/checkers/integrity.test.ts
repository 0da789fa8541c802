// Integrity reads each verification run as its tool's manual defines it: damage fails the check, a
// tool that could not tell makes it unknown (never false, never a pass), nothing to verify by design
// skips it, and runs recorded before the verdict existed are read from their exit code.
import { describe, expect, it } from 'vitest';
import { defaultExpectations as expectations, integrityChecker, verdictOf } from '../../../harness/checkers/index.ts';
import type { IntegrityRun } from '../../../harness/history/final-state.ts';
import { finalOf } from './synthetic.ts';

const check = (integrity: IntegrityRun[]) => integrityChecker({ history: [], final: { ...finalOf([]), integrity }, expectations });

const clean: IntegrityRun = { tool: 'pg_amcheck', node: 'pg-primary', exitCode: 0, output: '', verdict: 'ok' };
// What pg_amcheck printed on a standby that never replayed CREATE EXTENSION amcheck (seen in a safe drill).
const notInstalled: IntegrityRun = {
  tool: 'pg_amcheck',
  node: 'pg-replica',
  exitCode: 1,
  output: 'pg_amcheck: warning: skipping database "postgres": amcheck is not installed\npg_amcheck: error: no relations to check',
  verdict: 'unknown',
  why: 'pg_amcheck: warning: skipping database "postgres": amcheck is not installed',
};
const corrupt: IntegrityRun = {
  tool: 'pg_amcheck',
  node: 'pg-primary',
  exitCode: 2,
  output: 'heap table "postgres.public.faultline_ledger", block 3, offset 2:\n    line pointer redirection to item at offset 99 exceeds maximum offset 12\n',
  verdict: 'damaged',
};

describe('integrity', () => {
  it("is unknown, with the tool's own words, when pg_amcheck failed itself on a node", () => {
    const result = check([clean, notInstalled]);
    expect(result.valid).toBe('unknown');
    expect(result.summary).toContain('pg_amcheck on pg-replica could not tell (exit 1): pg_amcheck: warning: skipping database "postgres": amcheck is not installed');
    expect(result.summary).toContain('pg_amcheck on pg-primary: no corruption found');
    expect(result.details.couldNotTell).toEqual(['pg-replica']);
  });

  it('fails on damage a tool reports, naming the relation, and still says which node could not tell', () => {
    const result = check([corrupt, notInstalled]);
    expect(result.valid).toBe(false);
    expect(result.summary).toMatch(/^pg_amcheck on pg-primary \(exit 2\) names heap table postgres\.public\.faultline_ledger/);
    expect(result.summary).toContain('pg-replica could not tell');
  });

  it('passes only when every run found no damage', () => {
    expect(check([clean, { ...clean, node: 'pg-replica' }]).valid).toBe(true);
  });

  it('is skipped, not passed, when nothing is meant to be on disk anywhere (persistence off)', () => {
    const off: IntegrityRun = { tool: 'redis-check-aof, redis-check-rdb', node: 'redis-primary', exitCode: 0, output: 'no AOF or RDB file on /var/lib/faultline/data', skipped: 'its persistence is off', notApplicable: true };
    const result = check([off, { ...off, node: 'redis-replica' }]);
    expect(result.valid).toBe('skipped');
    expect(result.summary).toMatch(/^nothing to verify: redis-primary \(its persistence is off\)/);
    // One node that should hold a file and could not be checked is no such excuse.
    expect(check([off, { ...off, node: 'redis-replica', notApplicable: undefined }]).valid).toBe('unknown');
  });

  it('reads runs recorded before verdicts existed from their exit code: 0 clean, -1 not run, others damage', () => {
    expect(verdictOf({ tool: 'pg_amcheck', node: 'n', exitCode: 0, output: '' })).toBe('ok');
    expect(verdictOf({ tool: 'pg_amcheck', node: 'n', exitCode: -1, output: 'exec failed' })).toBe('unknown');
    expect(verdictOf({ tool: 'pg_amcheck', node: 'n', exitCode: 2, output: '' })).toBe('damaged');
    // A recorded verdict wins over the exit code.
    expect(verdictOf(notInstalled)).toBe('unknown');
  });
});
