// A user's own drill file from the command line: loaded, checked by the same strict schema, and
// refused with the file named when it is wrong. No Docker: these never get as far as a cluster.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isDrillFile, loadDrillFile } from '../../harness/experiment/drill-file.ts';
import { defaultTopology } from '../../harness/engines/postgres/index.ts';
import { cli } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'faultline-drills-'));
const root = fileURLToPath(new URL('../../', import.meta.url));
const drill = { name: 'my-json-drill', description: 'mine', topology: defaultTopology, workload: { duration: '2s' } };

describe('drill files', () => {
  it('tells a file from an experiment name', () => {
    expect(isDrillFile('./drills/x.ts')).toBe(true);
    expect(isDrillFile('x.json')).toBe(true);
    expect(isDrillFile('sidekick')).toBe(false);
    expect(isDrillFile('pitr-*')).toBe(false);
  });

  it('loads a JSON drill and a TypeScript module’s default export, checked by the schema', async () => {
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(drill));
    expect((await loadDrillFile(join(dir, 'ok.json'))).name).toBe('my-json-drill');
    writeFileSync(
      join(dir, 'mine.ts'),
      `import { defineExperiment, defaultTopology } from '${root}harness/index.ts';\n` +
        `const topology: typeof defaultTopology = defaultTopology;\nexport default defineExperiment({ name: 'my-ts-drill', description: 'mine', topology, workload: { duration: '2s' } });\n`,
    );
    expect((await loadDrillFile(join(dir, 'mine.ts'))).name).toBe('my-ts-drill');
  });

  it('refuses, naming the file, a typo, a module without a default export, bad JSON and a missing file', async () => {
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ ...drill, workload: { duraton: '2s' } }));
    await expect(loadDrillFile(join(dir, 'typo.json'))).rejects.toThrow(/typo\.json: experiment 'my-json-drill': workload: unknown key 'duraton': did you mean 'duration'\?/);
    writeFileSync(join(dir, 'none.mjs'), 'export const x = 1;\n');
    await expect(loadDrillFile(join(dir, 'none.mjs'))).rejects.toThrow(/has no default export: export default defineExperiment/);
    writeFileSync(join(dir, 'bad.json'), '{ "name": ');
    await expect(loadDrillFile(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json' is not valid JSON/);
    await expect(loadDrillFile(join(dir, 'nope.ts'))).rejects.toThrow(/nope\.ts' does not exist/);
  });

  it('exits 2 from the command line for a drill file with a mistake, before anything starts', async () => {
    writeFileSync(join(dir, 'cli-typo.json'), JSON.stringify({ ...drill, topology: { ...defaultTopology, domain: ['x'] } }));
    const result = await cli(['run', join(dir, 'cli-typo.json')], { env: { DOCKER_HOST: 'unix:///nonexistent/faultline-test.sock' } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/topology: unknown key 'domain': did you mean 'domains'\?/);
  });
});
