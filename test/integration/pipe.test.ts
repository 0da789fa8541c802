// Moving files between node containers (pipeBetween, what a restore copies a base backup and the
// WAL archive with): every byte arrives, more than fits in a pipe's buffer, and a failure on
// either side is an error that names both commands' exit codes, with nothing left running.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { postgresImage } from '../../harness/engines/postgres/index.ts';
import { getEngine } from '../../harness/cluster/docker/engine.ts';
import { removeRunResources } from '../../harness/cluster/docker/docker-run.ts';
import { newRunId, runLabels } from '../../harness/cluster/docker/labels.ts';
import { pipeBetween } from '../../harness/cluster/docker/pipe.ts';
import { nothingLeft, waitForNoLeftovers } from '../helpers.ts';

describe('pipeBetween', () => {
  const runId = newRunId();
  let a: StartedTestContainer;
  let b: StartedTestContainer;

  async function ok(container: StartedTestContainer, script: string): Promise<string> {
    const result = await container.exec(['bash', '-c', script]);
    if (result.exitCode !== 0) throw new Error(`'${script}' exited ${result.exitCode}: ${result.stderr}`);
    return result.stdout.trim();
  }

  beforeAll(async () => {
    const image = await postgresImage();
    const start = () => new GenericContainer(image).withLabels(runLabels(runId)).withEntrypoint(['sleep', 'infinity']).start();
    [a, b] = await Promise.all([start(), start()]);
  });

  afterAll(async () => {
    await removeRunResources(await getEngine(), runId);
    expect(await waitForNoLeftovers(runId)).toEqual(nothingLeft);
  });

  it('copies a directory tree byte for byte, with owners and modes', async () => {
    await ok(a, 'mkdir -p /src/d && head -c 40000000 /dev/urandom > /src/d/big && echo hi > /src/small && chown -R postgres:postgres /src && chmod 600 /src/d/big');
    await pipeBetween({ container: a, name: 'a', command: ['tar', '-c', '-C', '/', 'src'] }, { container: b, name: 'b', command: ['bash', '-c', 'mkdir -p /dst && exec tar -x -C /dst'] });
    const sums = 'cd $0 && find . -type f -exec stat -c "%n %U %a %s" {} + | sort && find . -type f -exec md5sum {} + | sort';
    expect(await ok(b, `${sums.replace('$0', '/dst/src')}`)).toBe(await ok(a, `${sums.replace('$0', '/src')}`));
  });

  it('fails, naming both exit codes, when the sender fails', async () => {
    const copy = pipeBetween({ container: a, name: 'a', command: ['bash', '-c', 'echo partial; echo no such backup >&2; exit 7'] }, { container: b, name: 'b', command: ['bash', '-c', 'cat > /dev/null'] });
    await expect(copy).rejects.toThrow(/'a'.*exited 7 \(no such backup\).*exited 0/s);
  });

  it('fails, and stops the sender, when the receiver fails part way', async () => {
    const copy = pipeBetween(
      { container: a, name: 'a', command: ['bash', '-c', 'exec cat /dev/zero'] },
      { container: b, name: 'b', command: ['bash', '-c', 'head -c 1000000 > /dev/null; echo disk full >&2; exit 3'] },
    );
    await expect(copy).rejects.toThrow(/exited 3 \(disk full\)/);
    // The endless sender did not outlive the copy.
    expect((await a.exec(['pgrep', '-f', 'cat /dev/zero'])).exitCode).toBe(1);
  });

  it('leaves no pid file of its senders behind', async () => {
    expect(await ok(a, 'ls /tmp | grep -c "^faultline-pipe-" || true')).toBe('0');
  });
});
