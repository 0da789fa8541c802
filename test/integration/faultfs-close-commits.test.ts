// faultfs's close-commits (docker/faultfs/README.md): in lost-writes mode, a path that matches its
// regex behaves like a file on an NFS export with `sync` — closing a file commits its data and its
// directory entry, and a directory operation is durable when it returns — while every other path
// keeps the disk model (only fsync makes data durable, only a directory's fsync its entries).
// Checked on a real faultfs mount in a node container (the base image, which carries faultfs).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedTestContainer } from 'testcontainers';
import { ensureImage, getEngine, removeRunResources } from '../../harness/cluster/docker/index.ts';
import { newRunId, runLabels } from '../../harness/cluster/docker/labels.ts';
import { NodeContainer } from '../../harness/cluster/docker/node-container.ts';
import { nothingLeft, waitForNoLeftovers } from '../helpers.ts';

const CTL = '/run/faultfs-cc.sock';
const MNT = '/mnt/ff';
const LOWER = '/lower';

describe('faultfs close-commits', () => {
  const runId = newRunId();
  let container: StartedTestContainer | undefined;

  async function sh(script: string) {
    const result = await container!.exec(['bash', '-c', script]);
    return { code: result.exitCode, out: result.stdout.trim(), err: result.stderr.trim() };
  }

  async function ok(script: string): Promise<string> {
    const r = await sh(script);
    if (r.code !== 0) throw new Error(`'${script}' exited ${r.code}:\n${r.out}\n${r.err}`);
    return r.out;
  }

  const ctl = (command: string) => ok(`faultfs-ctl ${CTL} ${command}`);
  const exists = async (path: string) => (await sh(`test -e ${MNT}/${path}`)).code === 0;
  const content = (path: string) => ok(`cat ${MNT}/${path}`);
  /** A power loss, then reset so that the files can be read through new handles. */
  const powerLoss = async () => {
    expect(await ctl('power-loss')).toBe('ok power-loss torn=none');
    expect(await ctl('reset')).toBe('ok reset');
  };

  beforeAll(async () => {
    const engine = await getEngine();
    const image = await ensureImage();
    const node = new NodeContainer(image).withFuse().withAddedCapabilities('SYS_ADMIN').withLabels(runLabels(runId)).withEntrypoint(['sleep', 'infinity']);
    if (engine.appArmor) node.withSecurityOpt('apparmor=unconfined');
    container = await node.start();
    await ok(`mkdir -p ${LOWER} ${MNT} && faultfs ${LOWER} ${MNT} -o ctl=${CTL} && mountpoint -q ${MNT}`);
    await ok(`mkdir ${MNT}/sync ${MNT}/other && sync ${MNT}`);
  });

  afterAll(async () => {
    if (container) {
      await sh(`umount ${MNT}; true`).catch(() => {});
      await container.stop().catch(() => {});
    }
    await removeRunResources(await getEngine(), runId);
    expect(await waitForNoLeftovers(runId)).toEqual(nothingLeft);
  });

  it('keeps a file closed in sync/ (or renamed into it) without fsync, and drops an un-fsynced file elsewhere', async () => {
    expect(await ctl('lost-writes on')).toBe('ok lost-writes on');
    // before close-commits: durable entries (sync/gone is unlinked later, other/old rewritten, other/m moved)
    await ok(`cd ${MNT} && printf gone >sync/gone && touch other/old && printf moved >other/m && sync sync/gone other/m sync other`);
    expect(await ctl('close-commits ^sync/')).toBe('ok close-commits');
    expect(await ctl('status')).toMatch(/ close_commits=\^sync\/$/);

    // closing commits, and close waits for it: LOWER holds the data before any fsync
    expect(await ok(`printf kept >${MNT}/sync/a && cat ${LOWER}/sync/a`)).toBe('kept');
    await ok(`cd ${MNT} && printf renamed >sync/.tmp && mv sync/.tmp sync/b`);
    // renamed into sync/ from a directory that does not match: the rename itself is durable
    await ok(`mv ${MNT}/other/m ${MNT}/sync/m`);
    await ok(`mkdir ${MNT}/sync/sub && rm ${MNT}/sync/gone`);
    // another directory: written and closed without fsync, so neither data nor new entry is durable
    await ok(`cd ${MNT} && printf lost >other/c && printf lost >other/old`);
    expect(await ok(`stat -c %s ${LOWER}/other/old`)).toBe('0');
    expect(await ctl('status')).toMatch(/ dirty_files=2 /);

    await powerLoss();
    expect(await content('sync/a')).toBe('kept');
    expect(await content('sync/b')).toBe('renamed');
    expect(await exists('sync/.tmp')).toBe(false);
    expect(await content('sync/m')).toBe('moved');
    expect(await exists('other/m')).toBe(false);
    expect(await ok(`test -d ${MNT}/sync/sub && echo dir`)).toBe('dir');
    expect(await exists('sync/gone')).toBe(false);
    expect(await exists('other/c')).toBe(false);
    expect(await ok(`wc -c <${MNT}/other/old`)).toBe('0');
    // reset turned it off
    expect(await ctl('status')).toMatch(/ close_commits=off$/);
    expect(await ctl('lost-writes off')).toBe('ok lost-writes off');
  });

  it('keeps only what a close committed of a file in sync/ still open when the power goes; a read-only close commits nothing', async () => {
    expect(await ctl('lost-writes on')).toBe('ok lost-writes on');
    expect(await ctl('close-commits ^sync/')).toBe('ok close-commits');
    // A process holds sync/open for writing. `sleep 0` inherits the descriptor and closes it when it
    // exits (a close of a duplicate commits, as on NFS): "first" is committed, "second" is not.
    await ok(`cd ${MNT} && { printf first; sleep 0; printf second; exec sleep 600; } >sync/open 2>/dev/null & echo $! >/tmp/holder`);
    await ok(`for i in $(seq 100); do faultfs-ctl ${CTL} status | grep -q ' cached_bytes=6 ' && exit 0; sleep 0.1; done; exit 1`);
    expect(await ok(`cat ${LOWER}/sync/open`)).toBe('first');
    // read through another, read-only descriptor: its close commits nothing
    expect(await content('sync/open')).toBe('firstsecond');
    expect(await ctl('status')).toMatch(/ cached_bytes=6 dirty_files=1 /);
    expect(await ctl('power-loss')).toBe('ok power-loss torn=none');
    await ok('kill $(cat /tmp/holder)'); // its close, after the power loss, commits nothing
    expect(await ctl('reset')).toBe('ok reset');
    expect(await content('sync/open')).toBe('first');
    expect(await ctl('lost-writes off')).toBe('ok lost-writes off');
  });

  it('with close-commits off, or after reset, sync/ drops un-fsynced files again', async () => {
    expect(await ctl('lost-writes on')).toBe('ok lost-writes on');
    await ok(`touch ${MNT}/sync/old && sync ${MNT}/sync`);
    expect(await ctl('close-commits ^sync/')).toBe('ok close-commits');
    expect(await ctl('close-commits off')).toBe('ok close-commits off');
    expect(await ctl('status')).toMatch(/ close_commits=off$/);
    await ok(`cd ${MNT} && printf lost >sync/e && printf lost >sync/old && mkdir sync/sub2`);
    expect(await ok(`stat -c %s ${LOWER}/sync/e`)).toBe('0');
    await powerLoss();
    expect(await exists('sync/e')).toBe(false);
    expect(await ok(`wc -c <${MNT}/sync/old`)).toBe('0');
    expect(await exists('sync/sub2')).toBe(false);

    expect(await ctl('close-commits ^sync/')).toBe('ok close-commits');
    expect(await ctl('reset')).toBe('ok reset');
    await ok(`printf lost >${MNT}/sync/f`);
    await powerLoss();
    expect(await exists('sync/f')).toBe(false);
    expect(await ctl('lost-writes off')).toBe('ok lost-writes off');
  });

  it('refuses a bad close-commits command and changes nothing', async () => {
    expect(await ctl('close-commits ^sync/')).toBe('ok close-commits');
    for (const bad of ['close-commits', "close-commits '('", 'close-commits a b']) {
      const r = await sh(`faultfs-ctl ${CTL} ${bad}`);
      expect(r.code, bad).toBe(1);
      expect(r.out, bad).toMatch(/^error (usage: close-commits REGEX\|off|bad close-commits regex: )/);
    }
    expect(await ctl('status')).toMatch(/ close_commits=\^sync\/$/);
    expect(await ctl('reset')).toBe('ok reset');
  });
});
