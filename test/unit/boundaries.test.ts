// The folder rules of docs/architecture.md, kept by reading every import:
// - an engine is one folder (harness/engines/<engine>/): outside it, only its public index.ts is
//   imported (the CLI, validate, the shipped experiments), and no engine imports another;
// - the core (cluster, experiment, recovery, faults, checkers, report, workload, history, campaign)
//   imports no engine folder and names no engine: it reaches engines through the registry;
// - no two folders import each other (dependencies point one way).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const root = join(repo, 'harness');
const CORE = ['cluster', 'experiment', 'recovery', 'faults', 'checkers', 'report', 'workload', 'history', 'campaign'];
const engineNames = readdirSync(join(root, 'engines')).filter((entry) => statSync(join(root, 'engines', entry)).isDirectory());

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module a file imports (type-only imports too), resolved to a path relative to harness/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gms)]
    .map((m) => (m[1] ?? m[2])!)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => relative(root, resolve(file, '..', spec)));
}

/** The unit a harness file belongs to: an engine's folder, a top-level folder, or a file at the top. */
function unitOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'engines' && parts.length > 2) return `engines/${parts[1]}`;
  return parts.length > 1 ? parts[0]! : path;
}

const all = files(root);
const edges = all.flatMap((file) => importsOf(file).map((target) => ({ from: relative(root, file), to: target })));

describe('the engine boundary', () => {
  it.each(CORE)('harness/%s imports no engine folder (only the registry)', (folder) => {
    const offending = edges.filter((e) => unitOf(e.from) === folder && e.to.startsWith('engines/') && e.to !== 'engines/registry.ts').map((e) => `${e.from} → ${e.to}`);
    expect(offending).toEqual([]);
  });

  it.each(CORE)('harness/%s names no engine in its code', (folder) => {
    const named = files(join(root, folder)).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${relative(root, file)}:${i + 1}` }))
        .filter(({ line }) => !/^\s*(\/\/|\*|\/\*)/.test(line))
        .filter(({ line }) => new RegExp(`['"\`](${engineNames.join('|')}|redis|valkey)['"\`]`).test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(named).toEqual([]);
  });

  it('outside its folder, an engine is reached only through its index.ts (shipped experiments and examples too)', () => {
    const outside = [...all, ...files(join(repo, 'experiments')), ...files(join(repo, 'examples'))].filter((file) => !relative(root, file).startsWith('engines/'));
    const offending = outside.flatMap((file) =>
      importsOf(file)
        .filter((target) => /^engines\/[^/]+\//.test(target) && !/^engines\/[^/]+\/index\.ts$/.test(target))
        .map((target) => `${relative(repo, file)} → harness/${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('no engine imports another engine', () => {
    const offending = edges.filter((e) => unitOf(e.from).startsWith('engines/') && unitOf(e.to).startsWith('engines/') && unitOf(e.from) !== unitOf(e.to)).map((e) => `${e.from} → ${e.to}`);
    expect(offending).toEqual([]);
  });

  it('no two folders import each other', () => {
    const pairs = new Map<string, string>();
    for (const e of edges) {
      const [a, b] = [unitOf(e.from), unitOf(e.to)];
      if (a !== b && !pairs.has(`${a} → ${b}`)) pairs.set(`${a} → ${b}`, `${e.from} → ${e.to}`);
    }
    const circles = [...pairs.keys()]
      .map((pair) => pair.split(' → ') as [string, string])
      .filter(([a, b]) => a < b && pairs.has(`${b} → ${a}`))
      .map(([a, b]) => `${pairs.get(`${a} → ${b}`)} and ${pairs.get(`${b} → ${a}`)}`);
    expect(circles).toEqual([]);
  });

  it('no file under harness/ is over 300 lines', () => {
    const long = all.map((file) => ({ file: relative(root, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 })).filter((f) => f.lines > 300);
    expect(long).toEqual([]);
  });

  it('finds imports and engines at all (the scan itself works)', () => {
    expect(engineNames).toEqual(expect.arrayContaining(['postgres', 'redis']));
    expect(importsOf(join(root, 'engines', 'registry.ts'))).toContain('engines/postgres/index.ts');
    expect(edges.length).toBeGreaterThan(300);
  });
});
