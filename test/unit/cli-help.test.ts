// A CLI that helps: --help for every command, --version, "did you mean" for commands, options and
// experiment names, strict seeds, and the parser's messages in the house style. No Docker needed.
import { describe, expect, it } from 'vitest';
import { parseSeed, selectExperiments } from '../../harness/cli.ts';
import { experiments } from '../../experiments/index.ts';
import { cli } from '../helpers.ts';

const noDocker = { DOCKER_HOST: 'unix:///nonexistent/faultline-test.sock' };

describe('the command line helps', () => {
  it.each(['list', 'run', 'report', 'validate', 'rehearse', 'faults', 'schema', 'up', 'image', 'doctor', 'help'])("answers 'faultline %s --help' with its usage, exit 0", async (command) => {
    const result = await cli([command, '--help'], { env: noDocker });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^faultline ${command}\\b`));
  });

  it('opens its help with what it does, naming every engine', async () => {
    const result = await cli(['--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('faultline — rehearse storage failures on real PostgreSQL, Redis and Valkey clusters');
  });

  it('prints its version', async () => {
    const result = await cli(['--version']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('suggests the command, option or experiment that was meant, with exit 2', async () => {
    const command = await cli(['rnu']);
    expect(command.exitCode).toBe(2);
    expect(command.stderr).toMatch(/Unknown command 'rnu' \(did you mean 'run'\?\)/);
    const option = await cli(['up', '--topologi', 'x.json'], { env: noDocker });
    expect(option.exitCode).toBe(2);
    expect(option.stderr).toBe("faultline: Unknown option '--topologi' (did you mean '--topology'?): 'up' takes --topology, --json. See 'faultline up --help'.");
    expect(() => selectExperiments(['helthy'], experiments)).toThrow(/No experiment matches 'helthy' \(did you mean 'healthy'\?\)/);
  });

  it.each(['', '0x10', '1e3', '-1', '1.5', ' 7', '99999999999999999999'])('refuses the seed %j', (text) => {
    expect(() => parseSeed(text)).toThrow(/--seed must be a whole number written in digits, 0 or more/);
  });

  it('accepts a seed in digits', () => {
    expect(parseSeed('0')).toBe(0);
    expect(parseSeed('1930252555')).toBe(1930252555);
  });

  it('says what a missing option value needs', async () => {
    const result = await cli(['run', 'healthy', '--seed'], { env: noDocker });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/Option '--seed' needs a value, e.g. '--seed 7'/);
  });

  it('refuses a JUnit path it cannot write before anything runs', async () => {
    const result = await cli(['run', 'healthy', '--junit', '/proc/faultline-nope/junit.xml'], { env: noDocker });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/Cannot write the JUnit file '\/proc\/faultline-nope\/junit.xml'/);
  });

  it('prints the JSON Schema of topologies', async () => {
    const result = await cli(['schema']);
    expect(result.exitCode).toBe(0);
    const schema = JSON.parse(result.stdout) as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(schema.properties)).toEqual(['domains', 'postgres', 'redis']);
    expect(schema.additionalProperties).toBe(false);
  });
});
