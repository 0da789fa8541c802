// `npm run bench` (bench/all.ts, which CI runs) runs every benchmark in bench/: one added there and
// not listed would never print its figures in CI.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const BENCH = join(import.meta.dirname, '../../bench');

it('bench/all.ts runs every benchmark in bench/, each once', () => {
  const listed = [...readFileSync(join(BENCH, 'all.ts'), 'utf8').matchAll(/\['([a-z-]+\.ts)'/g)].map((m) => m[1]);
  const files = readdirSync(BENCH).filter((f) => f.endsWith('.ts') && f !== 'all.ts');
  expect([...listed].sort()).toEqual(files.sort());
  expect(new Set(listed).size).toBe(listed.length);
});
