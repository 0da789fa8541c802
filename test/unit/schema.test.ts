// Strict schemas: a typo in any key is refused with its path and a suggestion, every problem is
// reported at once, and the published JSON Schema accepts what the README shows.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { defaultTopology, validatePostgresTopology, type PostgresTopologySpec } from '../../harness/engines/postgres/index.ts';
import { topologyJsonSchema } from '../../harness/engines/registry.ts';
import { prepareExperiment, type ExperimentDefinition } from '../../harness/experiment/index.ts';
import { didYouMean } from '../../harness/schema.ts';
import sidekickHardened from '../../experiments/sidekick-hardened.ts';

/** The key with its second letter dropped: a typo of it. */
const typo = (key: string) => `${key[0]}${key.slice(2)}`;

function message(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('strict topologies', () => {
  const topology = (): PostgresTopologySpec => ({ ...structuredClone(defaultTopology), postgres: { ...structuredClone(defaultTopology.postgres), version: 15, synchronousCommit: 'on', backupTool: 'pg_receivewal', archiveTimeout: '60s' } });
  const places: Array<[string, (t: PostgresTopologySpec) => Record<string, unknown>]> = [
    ['', (t) => t as unknown as Record<string, unknown>],
    ['postgres', (t) => t.postgres as unknown as Record<string, unknown>],
    ['postgres.nodes[1]', (t) => ({ ...t.postgres.nodes[1], volumeSize: '512M', synchronous: false }) as unknown as Record<string, unknown>],
  ];

  it.each(places)("refuses a typo in every key at '%s', with its path and the key it meant", (path, at) => {
    const keys = Object.keys(at(topology()));
    for (const key of keys) {
      const spec = topology();
      if (path === 'postgres.nodes[1]') spec.postgres.nodes[1] = { ...spec.postgres.nodes[1]!, volumeSize: '512M', synchronous: false };
      const target = path === '' ? (spec as unknown as Record<string, unknown>) : path === 'postgres' ? (spec.postgres as unknown as Record<string, unknown>) : (spec.postgres.nodes[1] as unknown as Record<string, unknown>);
      target[typo(key)] = target[key];
      delete target[key];
      const text = message(() => validatePostgresTopology(spec, 'my.json'));
      expect(text).toContain(`${path ? `${path}: ` : ''}unknown key '${typo(key)}': did you mean '${key}'?`);
    }
  });

  it('refuses the typos that used to mean the defaults silently', () => {
    const spec = structuredClone(defaultTopology) as PostgresTopologySpec;
    (spec.postgres.nodes[1] as Record<string, unknown>).synchronus = true;
    (spec.postgres.nodes[0] as Record<string, unknown>).volumsize = '1G';
    const text = message(() => validatePostgresTopology(spec, 'topology.json'));
    expect(text).toMatch(/^topology\.json: 2 problems:/);
    expect(text).toContain("postgres.nodes[0]: unknown key 'volumsize': did you mean 'volumeSize'?");
    expect(text).toContain("postgres.nodes[1]: unknown key 'synchronus': did you mean 'synchronous'?");
  });

  it('reports every problem at once, each with its path', () => {
    const spec = structuredClone(defaultTopology) as PostgresTopologySpec;
    spec.postgres.nodes[1]!.domain = 'san-z';
    spec.postgres.nodes[2]!.volumeSize = '16M';
    (spec.postgres as Record<string, unknown>).version = 9;
    const text = message(() => validatePostgresTopology(spec));
    expect(text).toMatch(/^topology: 3 problems:/);
    expect(text).toContain('postgres.version: PostgreSQL version 9 cannot be built here: use 15, 17, 18');
  });

  it('reports cross-field problems with their paths', () => {
    const spec = structuredClone(defaultTopology) as PostgresTopologySpec;
    spec.postgres.nodes[1]!.domain = 'san-z';
    spec.postgres.nodes[2]!.volumeSize = '16M';
    const text = message(() => validatePostgresTopology(spec));
    expect(text).toContain("postgres.nodes[1].domain: Node 'pg-replica' is placed in failure domain 'san-z'");
    expect(text).toContain("postgres.nodes[2].volumeSize: Volume size must be at least 64 MiB for PostgreSQL: got '16M' on node 'pg-archive'");
  });
});

describe('strict experiments', () => {
  it('refuses a typo at every level of an experiment, and its topology, all at once', () => {
    const definition = {
      ...sidekickHardened,
      workload: { clientz: 2 },
      faults: [{ at: '1s', fault: 'io-stall', target: 'primary', durtion: '1s' }, { random: { faults: ['pause'], targets: ['primary'], count: 1, optinal: true } }],
      recovery: { ...sidekickHardened.recovery!, rehearseRestor: true },
      expect: { maxLostWrite: 0 },
      schedule: [{ at: '1s', name: 'x', run: async () => {}, targt: 'pg-primary' }],
      topology: { ...sidekickHardened.topology, domain: ['x'] },
    } as unknown as ExperimentDefinition;
    const text = message(() => prepareExperiment(definition));
    expect(text).toMatch(/^experiment 'sidekick-hardened': 7 problems:/);
    for (const line of [
      "workload: unknown key 'clientz': did you mean 'clients'?",
      "faults[0]: unknown key 'durtion': did you mean 'duration'?",
      "faults[1].random: unknown key 'optinal': did you mean 'optional'?",
      "recovery: unknown key 'rehearseRestor': did you mean 'rehearseRestore'?",
      "expect: unknown key 'maxLostWrite': did you mean 'maxLostWrites'?",
      "schedule[0]: unknown key 'targt': did you mean 'target'?",
      "topology: unknown key 'domain': did you mean 'domains'?",
    ]) {
      expect(text).toContain(line);
    }
  });

  it('suggests only what is close enough to be a typo', () => {
    expect(didYouMean('synchronus', ['synchronous', 'domain'])).toBe('synchronous');
    expect(didYouMean('colour', ['name', 'role', 'domain'])).toBeUndefined();
  });
});

describe('the published JSON Schema', () => {
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(topologyJsonSchema());

  it("accepts the README's example topology and the default one", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /## Topologies[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(validate(JSON.parse(example)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(defaultTopology)).toBe(true);
  });

  it('rejects a typo, a wrong type and a missing key', () => {
    const spec = structuredClone(defaultTopology) as PostgresTopologySpec;
    (spec.postgres.nodes[1] as Record<string, unknown>).synchronus = true;
    expect(validate(spec)).toBe(false);
    expect(validate.errors!.some((e) => e.keyword === 'additionalProperties' && (e.params as { additionalProperty: string }).additionalProperty === 'synchronus')).toBe(true);
    expect(validate({ domains: ['san-a'], postgres: { nodes: [{ name: 'pg-primary', role: 'leader', domain: 'san-a' }] } })).toBe(false);
    expect(validate({ postgres: { nodes: [] } })).toBe(false);
  });
});
