// Commands in node containers through their command agents (runInContainer, what every node's
// exec goes through): they behave as docker exec does (user, groups, home, environment, empty
// standard input, exit codes, a signal's death, errors), a command that waits never holds up
// another, a paused container refuses commands instead of hanging them, a container that goes away
// fails the command it was running, and idle agents never keep this process alive.

import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { postgresImage } from '../../harness/engines/postgres/index.ts';
import { getEngine } from '../../harness/cluster/docker/engine.ts';
import { removeRunResources } from '../../harness/cluster/docker/docker-run.ts';
import { newRunId, runLabels } from '../../harness/cluster/docker/labels.ts';
import { markPaused, runInContainer } from '../../harness/cluster/docker/agent.ts';
import { nothingLeft, waitForNoLeftovers } from '../helpers.ts';

describe('runInContainer (command agents)', () => {
  const runId = newRunId();
  let image: string;
  let node: StartedTestContainer;
  const start = () => new GenericContainer(image).withLabels(runLabels(runId)).withEntrypoint(['sleep', 'infinity']).withEnvironment({ FROM_IMAGE_RUN: 'yes' }).start();

  beforeAll(async () => {
    image = await postgresImage();
    node = await start();
  });

  afterAll(async () => {
    await removeRunResources(await getEngine(), runId);
    expect(await waitForNoLeftovers(runId)).toEqual(nothingLeft);
  });

  it('gives what docker exec gives: output, exit code, user and groups, home, environment, empty input', async () => {
    const cases: Array<[string[], { user?: string; env?: Record<string, string> }]> = [
      [['id'], { user: 'postgres' }],
      [['id'], {}],
      [['bash', '-c', 'echo "$HOME|$FOO|$FROM_IMAGE_RUN|$(pwd)"; echo to stderr >&2; exit 3'], { user: 'postgres', env: { FOO: 'two words' } }],
      [['bash', '-c', 'echo "$HOME"'], { user: 'nobody', env: { HOME: '/tmp' } }],
      [['bash', '-c', 'cat; echo "input ended"'], {}],
      [['bash', '-c', 'kill -9 $$'], {}],
      [['bash', '-c', 'head -c 300000 /dev/zero | tr "\\0" x; printf "\\nü\\n"'], { user: 'postgres' }],
      [['sh', '-c', 'exit 0'], { user: '999' }],
    ];
    for (const [command, options] of cases) {
      const viaAgent = await runInContainer(node, command, options);
      const viaExec = await node.exec(command, options);
      expect({ command, ...viaAgent }).toEqual({ command, exitCode: viaExec.exitCode, stdout: viaExec.stdout, stderr: viaExec.stderr });
    }
  });

  it('fails as docker exec does on an unknown user or program (exit 126, saying which)', async () => {
    const user = await runInContainer(node, ['id'], { user: 'nobody-here' });
    expect(user.exitCode).toBe(126);
    expect(user.stdout).toMatch(/unable to find user nobody-here/);
    const program = await runInContainer(node, ['no-such-program']);
    expect(program.exitCode).toBe(126);
    expect(program.stdout).toMatch(/"no-such-program": executable file not found in \$PATH/);
  });

  it('never holds a command up behind one that waits', async () => {
    // The first waits for a file that only the second makes: were they queued, neither would end.
    const waiting = runInContainer(node, ['bash', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.05; done; echo released']);
    expect((await runInContainer(node, ['touch', '/tmp/go'])).exitCode).toBe(0);
    expect((await waiting).stdout.trim()).toBe('released');
  });

  it('refuses commands in a paused container at once, and runs them again once it is resumed', async () => {
    const { docker } = await getEngine();
    const container = docker.getContainer(node.getId());
    markPaused(node, true);
    await container.pause();
    try {
      const refused = await runInContainer(node, ['true']).then(
        (result) => `exit ${result.exitCode}: ${result.stdout}${result.stderr}`,
        (error: unknown) => String(error),
      );
      expect(refused).toMatch(/paused/i);
    } finally {
      await container.unpause();
      markPaused(node, false);
    }
    expect((await runInContainer(node, ['echo', 'back'])).stdout.trim()).toBe('back');
  });

  it('fails the command that was running when its container goes away', async () => {
    const doomed = await start();
    expect((await runInContainer(doomed, ['true'])).exitCode).toBe(0);
    const running = expect(runInContainer(doomed, ['sleep', '60'])).rejects.toThrow(/command agent ended/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { docker } = await getEngine();
    await docker.getContainer(doomed.getId()).remove({ force: true });
    await running;
  });

  it('lets the process exit while its agents wait for work', async () => {
    const agentModule = fileURLToPath(new URL('../../harness/cluster/docker/agent.ts', import.meta.url));
    const script = `
      import { runInContainer } from ${JSON.stringify(agentModule)};
      const container = { getId: () => process.argv[1], exec: () => { throw new Error('no docker exec expected'); } };
      const first = await runInContainer(container, ['echo', 'one']);
      const second = await runInContainer(container, ['echo', 'two']);
      console.log(first.stdout.trim(), second.stdout.trim());`;
    // Were an idle agent to hold the process open, this would time out.
    const child = await execa('node', ['--input-type=module', '-e', script, node.getId()], { timeout: 30_000, reject: false });
    expect({ exitCode: child.exitCode, stdout: child.stdout, timedOut: child.timedOut }).toEqual({ exitCode: 0, stdout: 'one two', timedOut: false });
  });
});
