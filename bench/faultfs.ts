// Benchmark: what faultfs costs when no rule is active. In one node container, alternating rounds
// of the same pgbench workload (scale 5, 4 clients, 10 s of the default TPC-B-like script) on a
// PostgreSQL whose data directory is (a) a plain directory and (b) a faultfs mount over a plain
// directory of the same file system; prints tps for each and the ratio b ÷ a. Target: at least 0.7.
// A third line, (c) faultfs keeping un-fsynced writes apart (lost-writes mode, as power-loss drills
// run), is printed for information: it is the price of being able to drop them.
// Run: npm run bench:faultfs [-- --rounds R --seconds S]

import { postgresImage } from '../harness/engines/postgres/index.ts';
import { parseArgs } from 'node:util';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { getEngine, removeRunResources } from '../harness/cluster/docker/index.ts';
import { newRunId, runLabels } from '../harness/cluster/docker/labels.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '10' } } });
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);

/** A container that may mount FUSE file systems: /dev/fuse and CAP_SYS_ADMIN (not --privileged). */
class FuseContainer extends GenericContainer {
  withFuse(): this {
    this.hostConfig.Devices = [...(this.hostConfig.Devices ?? []), { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }];
    return this.withAddedCapabilities('SYS_ADMIN').withSecurityOpt('apparmor=unconfined');
  }
}

async function sh(container: StartedTestContainer, script: string, user?: string): Promise<string> {
  const result = await container.exec(['bash', '-c', script], user ? { user } : {});
  if (result.exitCode !== 0) throw new Error(`'${script}' exited ${result.exitCode}: ${result.stderr || result.stdout}`);
  return result.stdout.trim();
}

/** A fresh cluster in `dir`, pgbench -i, then a timed pgbench; returns its tps. */
async function pgbench(container: StartedTestContainer, dir: string, lostWrites = false): Promise<number> {
  if (lostWrites) await sh(container, 'faultfs-ctl /run/faultfs.sock lost-writes on >/dev/null');
  await sh(container, `rm -rf ${dir}/data && initdb -D ${dir}/data -A trust >/dev/null && pg_ctl -D ${dir}/data -l /tmp/pg.log -o "-k /tmp -c listen_addresses=''" -w start >/dev/null`, 'postgres');
  try {
    await sh(container, 'pgbench -h /tmp -i -s 5 -q postgres 2>/dev/null', 'postgres');
    const out = await sh(container, `pgbench -h /tmp -T ${seconds} -c 4 -j 2 postgres`, 'postgres');
    const tps = /tps = ([\d.]+)/.exec(out)?.[1];
    if (!tps) throw new Error(`pgbench printed no tps:\n${out}`);
    return Number(tps);
  } finally {
    await sh(container, `pg_ctl -D ${dir}/data -m fast -w stop >/dev/null`, 'postgres').catch(() => {});
    if (lostWrites) await sh(container, 'faultfs-ctl /run/faultfs.sock lost-writes off >/dev/null').catch(() => {});
  }
}

const runId = newRunId();
const keepAlive = setInterval(() => {}, 1 << 30);
try {
  const image = await postgresImage(undefined, { log: (line: string) => console.error(line) });
  const container = await new FuseContainer(image).withFuse().withLabels(runLabels(runId)).withEntrypoint(['sleep', 'infinity']).start();
  await sh(container, 'mkdir -p /plain /lower /mnt/ff && chown postgres:postgres /plain /lower && faultfs /lower /mnt/ff -o ctl=/run/faultfs.sock && chown postgres:postgres /mnt/ff');
  const plain: number[] = [];
  const faultfs: number[] = [];
  const lost: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    plain.push(await pgbench(container, '/plain'));
    faultfs.push(await pgbench(container, '/mnt/ff'));
    lost.push(await pgbench(container, '/mnt/ff', true));
    console.log(`round ${round}: plain ${plain.at(-1)!.toFixed(0)} tps, faultfs ${faultfs.at(-1)!.toFixed(0)} tps, faultfs lost-writes ${lost.at(-1)!.toFixed(0)} tps`);
  }
  await sh(container, 'umount /mnt/ff').catch(() => {});
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`faultfs, no rules (pgbench -s 5, 4 clients, ${seconds} s x ${rounds} rounds each, same container and file system)`);
  console.log(`  plain directory:   ${mean(plain).toFixed(0)} tps`);
  console.log(`  through faultfs:   ${mean(faultfs).toFixed(0)} tps`);
  console.log(`  ratio faultfs / plain: ${(mean(faultfs) / mean(plain)).toFixed(2)} (target at least 0.7)`);
  console.log(`  faultfs keeping un-synced writes apart (lost-writes, as power-loss drills run): ${mean(lost).toFixed(0)} tps, ratio to plain ${(mean(lost) / mean(plain)).toFixed(2)} (for information)`);
} finally {
  await removeRunResources(await getEngine(), runId);
  clearInterval(keepAlive);
}
