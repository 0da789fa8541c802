// faultfs, the fault-injecting FUSE file system of the node image (docker/faultfs/): mounted over a
// plain directory in a node container, it must keep fsynced data and drop un-fsynced data on a
// simulated power loss, deliver injected errors to the caller, model directory-entry durability,
// pass its own canary, and with no rules carry PostgreSQL like the plain file system.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { postgresImage } from '../../harness/engines/postgres/index.ts';
import { getEngine } from '../../harness/cluster/docker/engine.ts';
import { removeRunResources } from '../../harness/cluster/docker/docker-run.ts';
import { newRunId, runLabels } from '../../harness/cluster/docker/labels.ts';
import { nothingLeft, waitForNoLeftovers } from '../helpers.ts';

const CTL = '/run/faultfs-test.sock';
const PG_CTL = '/run/faultfs-pg.sock';
const MNT = '/mnt/ff';

/** A container that may mount FUSE file systems (--privileged fails on hosts lacking some capabilities). */
class FuseContainer extends GenericContainer {
  withFuse(): this {
    this.hostConfig.Devices = [...(this.hostConfig.Devices ?? []), { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }];
    return this.withAddedCapabilities('SYS_ADMIN').withSecurityOpt('apparmor=unconfined');
  }
}

describe('faultfs', () => {
  const runId = newRunId();
  let container: StartedTestContainer | undefined;

  /** Runs a bash script in the container. */
  async function sh(script: string, user?: string) {
    const result = await container!.exec(['bash', '-c', script], user ? { user } : {});
    return { code: result.exitCode, out: result.stdout.trim(), err: result.stderr.trim() };
  }

  /** Runs a bash script that must succeed; returns its stdout. */
  async function ok(script: string, user?: string): Promise<string> {
    const r = await sh(script, user);
    if (r.code !== 0) throw new Error(`'${script}' exited ${r.code}:\n${r.out}\n${r.err}`);
    return r.out;
  }

  const ctl = (command: string, socket = CTL) => ok(`faultfs-ctl ${socket} ${command}`);

  beforeAll(async () => {
    const image = await postgresImage();
    container = await new FuseContainer(image).withFuse().withLabels(runLabels(runId)).withEntrypoint(['sleep', 'infinity']).start();
    await ok(`mkdir -p /lower ${MNT} && faultfs /lower ${MNT} -o ctl=${CTL} && mountpoint -q ${MNT}`);
  });

  afterAll(async () => {
    if (container) {
      await sh(`umount ${MNT}; umount /mnt/pg; true`).catch(() => {});
      await container.stop().catch(() => {});
    }
    await removeRunResources(await getEngine(), runId);
    expect(await waitForNoLeftovers(runId)).toEqual(nothingLeft);
  });

  it('keeps fsynced data and drops un-fsynced data on power loss', async () => {
    await ok(`mkdir ${MNT}/t1 && sync ${MNT}`);
    expect(await ctl('lost-writes on')).toBe('ok lost-writes on');
    await ok(`cd ${MNT}/t1 && printf durable >synced && sync synced && printf volatile >unsynced && sync .`);
    // before the power loss, reads see the un-fsynced data; the lower directory does not have it
    expect(await ok(`cat ${MNT}/t1/unsynced`)).toBe('volatile');
    expect(await ok('stat -c %s /lower/t1/unsynced')).toBe('0');
    expect(await ctl('status')).toMatch(/cached_bytes=8 dirty_files=1 .*lost_writes=on/);
    // a handle open across the power loss fails with EIO until reset
    const stale = await sh(`exec 3<${MNT}/t1/synced && faultfs-ctl ${CTL} power-loss && cat <&3`);
    expect(stale.out).toBe('ok power-loss torn=none');
    expect(stale.code).not.toBe(0);
    expect(stale.err).toContain('Input/output error');
    expect(await ctl('status')).toMatch(/power_lost=yes/);
    expect(await ctl('reset')).toBe('ok reset');
    expect(await ok(`cat ${MNT}/t1/synced`)).toBe('durable');
    expect(await ok(`wc -c <${MNT}/t1/unsynced`)).toBe('0');
    expect(await ctl('lost-writes off')).toBe('ok lost-writes off');
  });

  it('tears an un-synced write with torn=op: a sector-aligned part of it lands, neither old nor new, the same way for the same seed', async () => {
    await ok(`mkdir ${MNT}/t5 && sync ${MNT}`);
    expect(await ctl('lost-writes on')).toBe('ok lost-writes on');
    const fill = (ch: string, n: number | string) => `head -c ${n} /dev/zero | tr '\\0' ${ch}`;
    /** Writes a fsynced page of A, overwrites it with B without fsync, cuts the power, and says how many bytes of B landed. */
    const tear = async (file: string, seed: number) => {
      await ok(`cd ${MNT}/t5 && ${fill('A', 8192)} >${file} && sync ${file} . && ${fill('B', 8192)} | dd of=${file} bs=8192 iflag=fullblock conv=notrunc status=none`);
      expect(await ctl(`power-loss torn=op seed=${seed}`)).toBe('ok power-loss torn=op');
      expect(await ctl('reset')).toBe('ok reset');
      const landed = Number(await ok(`tr -d A <${MNT}/t5/${file} | wc -c`));
      // The B bytes are one prefix, the rest of the page still A: cmp against that picture.
      await ok(`cmp <(${fill('B', landed)}; ${fill('A', 8192 - landed)}) ${MNT}/t5/${file}`);
      return landed;
    };
    const cut = await tear('page1', 7);
    expect(cut % 512).toBe(0);
    expect(cut).toBeGreaterThanOrEqual(512);
    expect(cut).toBeLessThanOrEqual(8192 - 512);
    expect(await tear('page2', 7)).toBe(cut);
    expect(await ctl('lost-writes off')).toBe('ok lost-writes off');
  });

  it('delivers an injected fsync error to the caller', async () => {
    await ok(`mkdir -p ${MNT}/t2`);
    expect(await ctl('error op=fsync path=^t2/victim errno=EIO count=1')).toMatch(/^ok rule \d+$/);
    const failed = await sh(`dd if=/dev/zero of=${MNT}/t2/victim bs=4k count=4 conv=fsync`);
    expect(failed.code).not.toBe(0);
    expect(failed.err).toContain('Input/output error');
    // count=1: the next fsync succeeds; other paths were never affected
    expect((await sh(`dd if=/dev/zero of=${MNT}/t2/victim bs=4k count=4 conv=fsync`)).code).toBe(0);
    expect(await ctl('error op=write path=^t2/full errno=ENOSPC')).toMatch(/^ok rule/);
    const full = await sh(`dd if=/dev/zero of=${MNT}/t2/full bs=4k count=1`);
    expect(full.code).not.toBe(0);
    expect(full.err).toContain('No space left on device');
    expect((await sh(`faultfs-ctl ${CTL} error op=fsync errno=EBADF`)).code).toBe(1);
    await ctl('reset');
    expect(await ctl('status')).toMatch(/^ok rules=0 /);
  });

  it('models directory-entry durability: only an fsynced directory keeps a new entry', async () => {
    await ok(`mkdir ${MNT}/t3 && sync ${MNT}`);
    await ctl('lost-writes on');
    // the file's data is fsynced, but its directory never was
    await ok(`printf data >${MNT}/t3/orphan && sync ${MNT}/t3/orphan`);
    await ctl('power-loss');
    await ctl('reset');
    expect((await sh(`test -e ${MNT}/t3/orphan`)).code).not.toBe(0);
    expect((await sh('test -e /lower/t3/orphan')).code).not.toBe(0);
    // now the directory is fsynced after the file's creation: it survives
    await ok(`printf data >${MNT}/t3/kept && sync ${MNT}/t3/kept && sync ${MNT}/t3`);
    // an unlink and a rename the directory never saw fsynced are undone
    await ok(`printf old >${MNT}/t3/gone && sync ${MNT}/t3/gone ${MNT}/t3 && rm ${MNT}/t3/gone && mv ${MNT}/t3/kept ${MNT}/t3/moved`);
    await ctl('power-loss');
    await ctl('reset');
    expect(await ok(`cat ${MNT}/t3/kept`)).toBe('data');
    expect(await ok(`cat ${MNT}/t3/gone`)).toBe('old');
    expect((await sh(`test -e ${MNT}/t3/moved`)).code).not.toBe(0);
    expect(await ok(`ls -A ${MNT}`)).not.toContain('.faultfs');
    await ctl('lost-writes off');
  });

  it('passes its canary and leaves nothing behind', async () => {
    await ok(`mkdir -p ${MNT}/t4 && printf keep >${MNT}/t4/other`);
    await ctl('lost-writes on');
    await ok(`printf cached >>${MNT}/t4/other`);
    expect(await ctl('canary t4')).toBe('ok canary fsynced-survived unsynced-lost');
    expect(await ok(`ls -A ${MNT}/t4`)).toBe('other');
    // another file's un-fsynced data is untouched by the canary
    expect(await ok(`cat ${MNT}/t4/other`)).toBe('keepcached');
    expect((await sh(`faultfs-ctl ${CTL} canary no-such-dir`)).code).toBe(1);
    await ctl('lost-writes off');
    expect(await ok('cat /lower/t4/other')).toBe('keepcached');
  });

  /** initdb, start, pgbench (init at scale 5, then 10 s with 4 clients), pg_amcheck, stop; returns the tps. */
  async function pgbench(dir: string): Promise<number> {
    await ok(
      `initdb -D ${dir}/data -A trust >/dev/null && ` +
        `pg_ctl -D ${dir}/data -l /tmp/pg.log -o "-k /tmp -c listen_addresses=''" -w start >/dev/null`,
      'postgres',
    );
    try {
      await ok('pgbench -h /tmp -i -s 5 -q postgres', 'postgres');
      const bench = await ok('pgbench -h /tmp -T 10 -c 4 postgres', 'postgres');
      expect(bench).toMatch(/number of failed transactions: 0/);
      await ok('pg_amcheck -h /tmp --install-missing --all --heapallindexed', 'postgres');
      return Number(/tps = ([\d.]+)/.exec(bench)?.[1] ?? 0);
    } finally {
      await sh(`pg_ctl -D ${dir}/data -m fast -w stop`, 'postgres');
    }
  }

  it('carries PostgreSQL like the plain file system when no rule is set', async () => {
    await ok(
      `mkdir -p /plain-pg /lower-pg /mnt/pg && chown postgres:postgres /plain-pg /lower-pg && chmod 700 /plain-pg /lower-pg && ` +
        `faultfs /lower-pg /mnt/pg -o ctl=${PG_CTL} && mountpoint -q /mnt/pg`,
    );
    const plain = await pgbench('/plain-pg');
    const faultfs = await pgbench('/mnt/pg');
    console.log(`pgbench: plain ${plain.toFixed(0)} tps, faultfs ${faultfs.toFixed(0)} tps (${(faultfs / plain).toFixed(2)})`);
    expect(faultfs).toBeGreaterThan(0);
    // The target is 0.7 (measured alone it is about 0.9); on a small machine shared with other work,
    // single 10 s runs vary by 2x, so the test only catches a pathological slowdown.
    expect(faultfs / plain).toBeGreaterThan(0.3);
    expect(await ctl('status', PG_CTL)).toMatch(/^ok rules=0 .*cached_bytes=0 dirty_files=0 .*lost_writes=off/);
  });
});
