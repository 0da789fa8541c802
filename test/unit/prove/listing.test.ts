// The proof that a backup repository was only read: listings of a real temporary tree, compared after
// each kind of change a writer could make, and a checksum that sees a byte changed behind a restored mtime.
import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../harness/errors.ts';
import { compareListings, describeChanges, listTree, treeChecksum, type ListingChange } from '../../../harness/prove/listing.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-listing-'));
  await mkdir(join(dir, 'wal'));
  await mkdir(join(dir, 'base', 'x'), { recursive: true });
  await writeFile(join(dir, 'wal', '000000010000000000000001'), 'a'.repeat(100));
  await writeFile(join(dir, 'wal', '000000010000000000000002'), 'b'.repeat(50));
  await writeFile(join(dir, 'base', 'x', 'backup.info'), 'label');
  await symlink('../wal', join(dir, 'base', 'latest'));
});

afterEach(async () => {
  await chmod(join(dir, 'base'), 0o755).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

const kinds = (changes: ListingChange[]): Array<[string, string]> => changes.map((change) => [change.path, change.what]);

describe('listTree', () => {
  it('lists every entry sorted by path, links as links, with file count and bytes', async () => {
    const listing = await listTree(dir);
    expect(listing.root).toBe(dir);
    expect(listing.entries.map((entry) => [entry.path, entry.type])).toEqual([
      ['base', 'dir'],
      ['base/latest', 'symlink'],
      ['base/x', 'dir'],
      ['base/x/backup.info', 'file'],
      ['wal', 'dir'],
      ['wal/000000010000000000000001', 'file'],
      ['wal/000000010000000000000002', 'file'],
    ]);
    expect(listing.files).toBe(3);
    expect(listing.bytes).toBe(155);
    const wal = listing.entries.find((entry) => entry.path === 'wal/000000010000000000000001')!;
    expect(wal.size).toBe(100);
    expect(wal.mtimeNs).toBe((await stat(join(dir, wal.path), { bigint: true })).mtimeNs.toString());
    expect(wal.mode & 0o777).toBe((await stat(join(dir, wal.path))).mode & 0o777);
    expect(Number.isNaN(Date.parse(listing.takenAt))).toBe(false);
  });

  it('lists a single-file root as path ""', async () => {
    const listing = await listTree(join(dir, 'wal', '000000010000000000000002'));
    expect(listing.entries).toEqual([expect.objectContaining({ path: '', type: 'file', size: 50 })]);
    expect(listing.files).toBe(1);
    expect(listing.bytes).toBe(50);
  });

  it('refuses a root that does not exist, naming it', async () => {
    const missing = join(dir, 'nope');
    const error = await listTree(missing).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`'${missing}' does not exist`);
  });

  it.skipIf(process.getuid?.() === 0)('refuses a directory it cannot read, naming it and asking for read access', async () => {
    await chmod(join(dir, 'base'), 0o000);
    const error = await listTree(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`'${join(dir, 'base')}'`);
    expect((error as ConfigError).message).toContain('faultline needs read access');
  });

  it('lists a tree of many files completely', async () => {
    await mkdir(join(dir, 'many'));
    await Promise.all(Array.from({ length: 300 }, (_, k) => writeFile(join(dir, 'many', `f${String(k).padStart(3, '0')}`), 'z')));
    const listing = await listTree(dir);
    expect(listing.entries.filter((entry) => entry.path.startsWith('many/'))).toHaveLength(300);
    expect(listing.files).toBe(303);
  });
});

describe('compareListings', () => {
  it('finds nothing when the tree was only read', async () => {
    const before = await listTree(dir);
    await readFile(join(dir, 'wal', '000000010000000000000001'));
    expect(compareListings(before, await listTree(dir))).toEqual([]);
  });

  it('sees a file appended to as a size and mtime change', async () => {
    const before = await listTree(dir);
    const file = join(dir, 'wal', '000000010000000000000002');
    await appendFile(file, 'more');
    await utimes(file, new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    const changes = compareListings(before, await listTree(dir));
    expect(changes).toEqual([
      { path: 'wal/000000010000000000000002', what: 'size', before: '50', after: '54' },
      expect.objectContaining({ path: 'wal/000000010000000000000002', what: 'mtime', after: '1893456000000000000' }),
    ]);
  });

  it('sees a file touched with the same content as an mtime change', async () => {
    const before = await listTree(dir);
    await utimes(join(dir, 'base', 'x', 'backup.info'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
    expect(kinds(compareListings(before, await listTree(dir)))).toEqual([['base/x/backup.info', 'mtime']]);
  });

  it('sees a file removed and one added, without blaming their directory for it', async () => {
    const before = await listTree(dir);
    await unlink(join(dir, 'wal', '000000010000000000000001'));
    await writeFile(join(dir, 'wal', '000000010000000000000003'), 'c');
    expect(kinds(compareListings(before, await listTree(dir)))).toEqual([
      ['wal/000000010000000000000001', 'removed'],
      ['wal/000000010000000000000003', 'added'],
    ]);
  });

  it('sees a directory whose mtime moved with nothing left below it to show why', async () => {
    const before = await listTree(dir);
    await writeFile(join(dir, 'wal', 'tmp'), '');
    await unlink(join(dir, 'wal', 'tmp'));
    await utimes(join(dir, 'wal'), new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    expect(kinds(compareListings(before, await listTree(dir)))).toEqual([['wal', 'mtime']]);
  });

  it('sees a chmod as a mode change with the octal permissions', async () => {
    const before = await listTree(dir);
    await chmod(join(dir, 'base', 'x', 'backup.info'), 0o600);
    await chmod(join(dir, 'wal', '000000010000000000000001'), 0o640);
    const changes = compareListings(before, await listTree(dir));
    expect(kinds(changes)).toEqual([
      ['base/x/backup.info', 'mode'],
      ['wal/000000010000000000000001', 'mode'],
    ]);
    expect(changes[0]!.after).toBe('0600');
    expect(changes[1]!.after).toBe('0640');
  });

  it('sees a file replaced by a directory as a type change alone', async () => {
    const before = await listTree(dir);
    await unlink(join(dir, 'base', 'x', 'backup.info'));
    await mkdir(join(dir, 'base', 'x', 'backup.info'));
    expect(compareListings(before, await listTree(dir))).toEqual([{ path: 'base/x/backup.info', what: 'type', before: 'file', after: 'dir' }]);
  });

  it('sees a change to a single-file root', async () => {
    const file = join(dir, 'wal', '000000010000000000000001');
    const before = await listTree(file);
    await appendFile(file, 'x');
    expect(kinds(compareListings(before, await listTree(file)))[0]).toEqual(['', 'size']);
  });
});

describe('describeChanges', () => {
  it("says 'unchanged' for no change", () => {
    expect(describeChanges([])).toBe('unchanged');
  });

  it('spells out each kind of change in one sentence', () => {
    const changes: ListingChange[] = [
      { path: 'a', what: 'added' },
      { path: 'b', what: 'removed' },
      { path: 'c', what: 'size', before: '10', after: '12' },
      { path: 'd', what: 'mtime', before: '1000000000000000001', after: '1000000000500000000' },
      { path: 'e', what: 'type', before: 'file', after: 'symlink' },
      { path: 'f', what: 'mode', before: '0644', after: '0600' },
    ];
    expect(describeChanges(changes, 10)).toBe(
      '6 changes: a added; b removed; c size 10 -> 12; d mtime 2001-09-09T01:46:40.000000001Z -> 2001-09-09T01:46:40.500000000Z; e type file -> symlink; f mode 0644 -> 0600',
    );
  });

  it('caps the list and says how many more there are', () => {
    const changes: ListingChange[] = Array.from({ length: 8 }, (_, k) => ({ path: `wal/${k}`, what: 'removed' }));
    expect(describeChanges(changes, 3)).toBe('8 changes: wal/0 removed; wal/1 removed; wal/2 removed (and 5 more)');
    expect(describeChanges(changes.slice(0, 1))).toBe('1 change: wal/0 removed');
  });

  it('names a single-file root in words', () => {
    expect(describeChanges([{ path: '', what: 'size', before: '1', after: '2' }])).toBe('1 change: the repository file size 1 -> 2');
  });
});

describe('treeChecksum', () => {
  it('is the same for an untouched tree and changes when one byte changes behind the same size and mtime', async () => {
    const first = await treeChecksum(dir);
    expect(await treeChecksum(dir)).toBe(first);
    const file = join(dir, 'wal', '000000010000000000000001');
    const { atime, mtime } = await stat(file);
    await writeFile(file, `${'a'.repeat(99)}b`);
    await utimes(file, atime, mtime);
    const before = await listTree(dir);
    expect(before.entries.find((entry) => entry.path === 'wal/000000010000000000000001')!.size).toBe(100);
    expect(await treeChecksum(dir)).not.toBe(first);
  });

  it('changes when a link points elsewhere or a mode changes', async () => {
    const first = await treeChecksum(dir);
    await unlink(join(dir, 'base', 'latest'));
    await symlink('../base', join(dir, 'base', 'latest'));
    const relinked = await treeChecksum(dir);
    expect(relinked).not.toBe(first);
    await chmod(join(dir, 'base', 'x', 'backup.info'), 0o600);
    expect(await treeChecksum(dir)).not.toBe(relinked);
  });

  it('covers a single-file root', async () => {
    const file = join(dir, 'base', 'x', 'backup.info');
    const first = await treeChecksum(file);
    await writeFile(file, 'lAbel');
    expect(await treeChecksum(file)).not.toBe(first);
  });
});
