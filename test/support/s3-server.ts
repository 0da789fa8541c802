// An S3-compatible server for tests of S3 repositories: s3rver on this machine, over TLS (pgBackRest
// speaks HTTPS only) with a certificate made for the test, path-style, reached by containers at the
// address of Docker's default bridge on this machine. Closed and its files removed by `stop`.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { getEngine } from '../../harness/cluster/docker/engine.ts';
import type { S3Target } from './user-backups.ts';

export interface RunningS3 extends S3Target {
  stop: () => Promise<void>;
}

/** Starts s3rver with one bucket; containers reach it at the default bridge's gateway (this machine). */
export async function startS3(bucket = 'backups'): Promise<RunningS3> {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-s3-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=faultline-s3'], { stdio: 'ignore' });
  const server = new S3rver({
    port: 0,
    address: '0.0.0.0',
    silent: true,
    directory: join(dir, 'data'),
    key: readFileSync(join(dir, 'key.pem')),
    cert: readFileSync(join(dir, 'cert.pem')),
    configureBuckets: [{ name: bucket }],
  });
  const { port } = (await server.run()) as { port: number };
  const { docker } = await getEngine();
  const bridge = (await docker.getNetwork('bridge').inspect()) as { IPAM?: { Config?: Array<{ Gateway?: string; Subnet?: string }> } };
  const config = bridge.IPAM?.Config?.[0];
  // Docker 20.10 names the gateway only sometimes: the bridge's first address is it.
  const endpoint = config?.Gateway ?? config?.Subnet?.replace(/\.0\/\d+$/, '.1') ?? '172.17.0.1';
  return {
    endpoint,
    port,
    bucket,
    key: 'S3RVER',
    secret: 'S3RVER',
    region: 'us-east-1',
    stop: async () => {
      await server.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
