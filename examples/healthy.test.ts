// A vitest suite of your own that runs faultline drills from the installed package
// (npm install faultline-<version>.tgz vitest). A drill takes seconds to a minute: give tests time.
import { expect, it } from 'vitest';
import { runExperiment } from 'faultline';
import { experiments } from 'faultline/experiments';

it('loses no acknowledged write on a healthy cluster', async () => {
  const healthy = experiments.find((e) => e.name === 'healthy')!;
  const result = await runExperiment({ ...healthy, workload: { clients: 2, duration: '3s' } }, { seed: 1 });
  expect(result.error, 'the run broke').toBeUndefined();
  expect(result.writes.acknowledged).toBeGreaterThan(100);
  expect(result.writes.lost).toBe(0);
  expect(result.verdict).toBe('pass');
}, 180_000);
