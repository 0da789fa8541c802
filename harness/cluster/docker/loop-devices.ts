// The host's loop devices behind a run's LUN images: found by the image's name, and released when
// the kernel did not release them by itself (a device never mounted, or a frozen file system left).

import { mkdtemp, readFile, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { sleep } from '../../wait.ts';

/**
 * LUN images are named `<node>-<lun>.<runId>.img` under `/domains/<domain>/` (startNode). The kernel
 * names a loop device's backing file as its attacher saw it; once the domain's volume is deleted it
 * may show only the file's name (`/pg-primary-data.1a2b3c4d.img (deleted)`).
 */
const LUN_IMAGE = /(?:^|\/)[^/]+\.([0-9a-f]{8})\.img$/;

export interface LoopLeftover {
  device: string;
  backingFile: string;
  runId: string | undefined;
}

/** The host's loop devices backed by a faultline LUN image (none when the engine is on another host). */
export async function listLoopDevices(): Promise<LoopLeftover[]> {
  const result = await execa('losetup', ['--json', '--list', '--output', 'NAME,BACK-FILE'], { reject: false });
  if (result.exitCode !== 0 || !result.stdout.trim()) return [];
  const parsed = JSON.parse(result.stdout) as { loopdevices?: Array<{ name: string; 'back-file': string | null }> };
  return (parsed.loopdevices ?? [])
    .map((d) => ({ device: d.name, backingFile: (d['back-file'] ?? '').replace(/ \(deleted\)$/, '') }))
    .filter((d) => LUN_IMAGE.test(d.backingFile))
    .map((d) => ({ ...d, runId: LUN_IMAGE.exec(d.backingFile)?.[1] }));
}

/**
 * Releases the run's loop devices still attached once its containers are gone. The kernel releases a
 * LUN's device by itself when its file system goes with its last mount (fl-lun sets it to clear),
 * shortly after the container died. Two kinds stay: a device attached but never mounted (its
 * container was killed between fl-lun's `losetup` and `mount`), and one whose file system was frozen
 * when its last mount went: the kernel keeps a frozen file system, and its device, until it is
 * thawed, and with no mount left nothing can thaw it. Mounting the device again reaches that same
 * file system: it is thawed there and unmounted, and the device detached. This needs root on the
 * engine's host (as `losetup` does). Returns what is still attached.
 */
export async function releaseLoopDevices(runId: string, log: (line: string) => void = () => {}): Promise<string[]> {
  const ofRun = async () => (await listLoopDevices()).filter((l) => l.runId === runId);
  const gone = async (ms: number) => {
    let left = await ofRun();
    for (let waited = 0; left.length > 0 && waited < ms; waited += 100) {
      await sleep(100);
      left = await ofRun();
    }
    return left;
  };
  const left = await gone(1000);
  for (const loop of left) {
    // Still this run's? The kernel may have released it meanwhile and another run taken it.
    if (!(await backedByRun(loop.device, runId))) continue;
    if (await thawOrphan(loop.device)) log(`thawed the file system on ${loop.device} (${loop.backingFile}): it was frozen with no mount left`);
    if (!(await backedByRun(loop.device, runId))) continue;
    const detached = await execa('losetup', ['-d', loop.device], { reject: false, timeout: 5000 });
    if (detached.exitCode === 0) log(`detached ${loop.device} (${loop.backingFile})`);
  }
  const still = left.length > 0 ? await gone(1000) : [];
  return still.map((loop) => `loop device ${loop.device} (${loop.backingFile}) is still attached${process.getuid?.() === 0 ? '' : ': releasing it needs root on the engine\'s host'}`);
}

async function backedByRun(device: string, runId: string): Promise<boolean> {
  const name = device.replace(/^\/dev\//, '');
  const file = await readFile(`/sys/block/${name}/loop/backing_file`, 'utf8').catch(() => '');
  return LUN_IMAGE.exec(file.trim().replace(/ \(deleted\)$/, ''))?.[1] === runId;
}

/** Mounts a loop device on the host, thaws what it holds and unmounts it; true when it was frozen. */
async function thawOrphan(device: string): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'faultline-loop-'));
  try {
    const mounted = await execa('mount', ['-t', 'ext4', device, dir], { reject: false, timeout: 5000 });
    if (mounted.exitCode !== 0) return false;
    const thawed = await execa('fsfreeze', ['-u', dir], { reject: false, timeout: 5000 });
    await execa('umount', [dir], { reject: false, timeout: 5000 });
    return thawed.exitCode === 0;
  } finally {
    await rmdir(dir).catch(() => {});
  }
}
