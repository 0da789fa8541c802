// The Docker engine as faultline reaches it: through Testcontainers' runtime client, with a clear
// environment error (exit 3) when no engine answers, and Ryuk disabled where its image is absent.

import type Dockerode from 'dockerode';
import { getContainerRuntimeClient, type ContainerRuntimeClient } from 'testcontainers';
import { request } from 'node:http';
import { EnvironmentError, describeError } from '../../errors.ts';

const RYUK_IMAGE = 'testcontainers/ryuk:0.14.0';

export interface Engine {
  runtime: ContainerRuntimeClient;
  docker: Dockerode;
  /** Docker's AppArmor confinement blocks `mount` inside containers (Ubuntu hosts). */
  appArmor: boolean;
}

let engine: Promise<Engine> | undefined;

/** The Docker engine, checked once per process. Throws EnvironmentError when none answers. */
export function getEngine(): Promise<Engine> {
  engine ??= connect().catch((error: unknown) => {
    engine = undefined;
    throw error;
  });
  return engine;
}

async function connect(): Promise<Engine> {
  let runtime: ContainerRuntimeClient;
  try {
    // Testcontainers falls back to the default socket when DOCKER_HOST does not answer; a user who
    // set DOCKER_HOST means that engine, so it must answer.
    if (process.env.DOCKER_HOST) await ping(process.env.DOCKER_HOST);
    runtime = await getContainerRuntimeClient();
  } catch (error) {
    const where = process.env.DOCKER_HOST ? `DOCKER_HOST=${process.env.DOCKER_HOST}` : 'the default Docker socket';
    throw new EnvironmentError(
      `No Docker engine answered at ${where} (${describeError(error)}). Start the Docker daemon ` +
        `(on a bare Debian machine: '. scripts/setup-debian.sh' as root), or point DOCKER_HOST at a running engine.`,
      { cause: error },
    );
  }
  const docker = runtime.container.dockerode;
  const info = (await docker.info()) as { SecurityOptions?: string[] };
  const appArmor = (info.SecurityOptions ?? []).some((option) => option.includes('apparmor'));
  if (process.env.TESTCONTAINERS_RYUK_DISABLED === undefined) {
    // Ryuk removes containers if this process dies, but its image must be pullable. Where it is not
    // (no registry), faultline's own label-based clean-up (and `faultline doctor`) does the job.
    const hasRyuk = await docker
      .getImage(RYUK_IMAGE)
      .inspect()
      .then(() => true, () => false);
    if (!hasRyuk) process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  }
  return { runtime, docker, appArmor };
}

/** GET /_ping on a unix:// or tcp:// Docker host; other schemes are left to Testcontainers. */
function ping(dockerHost: string): Promise<void> {
  const url = /^(unix|tcp|http):\/\/(.*)$/.exec(dockerHost);
  if (!url) return Promise.resolve();
  const target = url[1] === 'unix' ? { socketPath: url[2] } : { host: new URL(`http://${url[2]}`).hostname, port: Number(new URL(`http://${url[2]}`).port || 2375) };
  return new Promise((resolve, reject) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: 5000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`/_ping answered HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}
