// What `faultline rehearse` runs, and the bad input it refuses before anything starts. Pure: no
// containers (the runbooks themselves run in test/integration/rehearse.test.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rehearsalDefinition, rehearseScenarios, validateDrills } from '../../../harness/validate/index.ts';
import { prepareExperiment } from '../../../harness/experiment/definition.ts';
import { defaultTopology } from '../../../harness/engines/postgres/index.ts';
import { cli } from '../../helpers.ts';

const noDocker = { DOCKER_HOST: 'unix:///nonexistent/faultline-test.sock' };
const pgbackrestTopology = join(import.meta.dirname, '../../../examples/runbooks/topology-pgbackrest.json');

describe('rehearsal definition', () => {
  it('stages the loss of the primary\'s failure domain by default, with the runbook as the only recovery', () => {
    const definition = rehearsalDefinition({ runbook: './restore.sh', rtoBudgetMs: 60_000 });
    expect(definition.name).toBe('rehearse-domain-loss');
    expect(definition.faults).toEqual([expect.objectContaining({ fault: 'domain-loss', target: 'domain:san-a' })]);
    expect(definition.recovery).toMatchObject({ try: ['runbook'], runbook: { command: './restore.sh', budget: 60_000 } });
    expect(definition.expect).toMatchObject({ maxLostWrites: 0, restoreMustComplete: true, rtoBudget: 60_000 });
    const experiment = prepareExperiment(definition);
    expect(experiment.recovery).toMatchObject({ runbook: { command: './restore.sh', budgetMs: 60_000 } });
    expect(experiment.expectations.rtoBudgetMs).toBe(60_000);
  });

  it('judges the window of lost writes instead of their number when an RPO budget is given', () => {
    const definition = rehearsalDefinition({ runbook: 'x', rpoBudgetMs: 5_000, topology: pgbackrestTopology });
    expect(definition.expect).toMatchObject({ maxLostWrites: Number.MAX_SAFE_INTEGER, rpoBudget: 5_000 });
    expect(definition.topology.postgres?.backupTool).toBe('pgbackrest');
  });

  it('offers the drills that end in a recovery as scenarios, and refuses others with a suggestion', () => {
    expect(rehearseScenarios()).toEqual(['restore', 'lagging-failover', 'stale-snapshot', 'domain-loss', 'archive-outage']);
    expect(() => rehearsalDefinition({ runbook: 'x', scenario: 'domain-los' })).toThrow(/'domain-los' is not a scenario \(did you mean 'domain-loss'\?\)/);
    expect(() => rehearsalDefinition({ runbook: 'x', scenario: 'crash' })).toThrow(/is not a scenario/);
    expect(() => rehearsalDefinition({ runbook: 'x', scenario: 'lagging-failover', topology: pgbackrestTopology })).toThrow(/cannot run on this topology: the topology has no replica/);
    expect(() => rehearsalDefinition({ runbook: '  ' })).toThrow(/--runbook needs a command/);
  });

  it('refuses a runbook recovery without a command, and a command without the runbook action', () => {
    const [drill] = validateDrills(defaultTopology).filter((d) => d.name === 'restore');
    const base = drill!.definition;
    expect(() => prepareExperiment({ ...base, recovery: { at: '3s', try: ['runbook'] } })).toThrow(/recovery.try lists 'runbook' but recovery.runbook does not say which command/);
    expect(() => prepareExperiment({ ...base, recovery: { at: '3s', try: ['restore'], runbook: { command: 'x' } } })).toThrow(/recovery.runbook is given but recovery.try does not list 'runbook'/);
    expect(() => prepareExperiment({ ...base, recovery: { at: '3s', try: ['runbook'], runbook: { command: 'x', budget: 'soon' } } })).toThrow(/recovery.runbook.budget must be a duration/);
    expect(() => prepareExperiment({ ...base, recovery: { at: '3s', try: ['runbook'], runbook: { command: 'x', budgt: '5s' } as never } })).toThrow(/unknown key 'budgt': did you mean 'budget'\?/);
  });
});

describe('faultline rehearse with bad input', () => {
  it.each([
    [[], /Name your runbook/],
    [['--runbook', 'x', '--rto-budget', 'fast'], /--rto-budget must be a duration like '90s'/],
    [['--runbook', 'x', '--scenario', 'flood'], /--scenario 'flood' is not a scenario/],
    [['--runbook', 'x', '--postgres-conf', '/nonexistent/postgresql.conf'], /Cannot read the PostgreSQL configuration file/],
  ])('%j exits 2 before touching Docker', async (args, message) => {
    const result = await cli(['rehearse', ...args], { env: noDocker });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
