// The engine boundary (docs/architecture.md): the runner, the recovery steps, the faults, the
// checkers and the report reach an engine only through cluster/engine.ts and cluster/engines.ts,
// never by importing an engine's folder; and no engine imports another.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../harness');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module a file imports, resolved to a path relative to harness/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gms)]
    .map((m) => m[1]!)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => relative(root, resolve(file, '..', spec)));
}

describe('the engine boundary', () => {
  it.each(['experiment', 'recovery', 'faults', 'checkers', 'report'])('harness/%s imports no engine folder', (folder) => {
    const offending = files(join(root, folder)).flatMap((file) =>
      importsOf(file)
        .filter((target) => /^cluster\/(postgres|redis)\//.test(target))
        .map((target) => `${relative(root, file)} → ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('no engine imports another engine', () => {
    const offending = ['postgres', 'redis'].flatMap((engine) =>
      files(join(root, 'cluster', engine)).flatMap((file) =>
        importsOf(file)
          .filter((target) => /^cluster\/(postgres|redis)\//.test(target) && !target.startsWith(`cluster/${engine}/`))
          .map((target) => `${relative(root, file)} → ${target}`),
      ),
    );
    expect(offending).toEqual([]);
  });

  it('finds imports at all (the scan itself works)', () => {
    expect(importsOf(join(root, 'cluster', 'engines.ts'))).toContain('cluster/postgres/engine.ts');
  });
});
