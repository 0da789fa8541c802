// `faultline prove-backup --barman-conf --server` on a real Barman catalogue, through the CLI as a
// user runs it: the newest DONE backup restored by barman recover and replayed to the last commit,
// the catalogue unchanged; and a catalogue missing a WAL segment fails where replay stopped.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proveBackupCli, requireCheck } from '../helpers.ts';
import { makeBarmanCatalogue, type MadeBarmanCatalogue } from '../support/barman-backups.ts';
import { hashTree } from '../support/user-backups.ts';

let made: MadeBarmanCatalogue;
const dirs: string[] = [];

const prove = (conf: string, server: string) => proveBackupCli(['--barman-conf', conf, '--server', server]);

beforeAll(async () => {
  made = await makeBarmanCatalogue();
  dirs.push(made.dir);
}, 120_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('faultline prove-backup --barman-conf', () => {
  it('proves the newest DONE backup and its WAL, restored by barman recover, the catalogue unchanged', async () => {
    const before = await hashTree(made.dir);
    const { exitCode, result, all } = await prove(made.conf, made.server);
    expect(exitCode, all).toBe(0);
    for (const name of ['restore-completed', 'recovery-reached', 'integrity', 'backup-unchanged']) expect(requireCheck(result, name).valid, `${name}: ${requireCheck(result, name).summary}`).toBe(true);
    const evidence = result.prove!.evidence!;
    expect(evidence.reached?.lastCommitAt).toBe(made.lastCommitAt.toISOString());
    expect(evidence.integrity.map((r) => `${r.tool} ${r.verdict}`)).toContain('pg_verifybackup ok');
    expect(evidence.mounts.every((m) => m.flags.split(',').includes('ro'))).toBe(true);
    expect(await hashTree(made.dir)).toBe(before);
  });

  it('fails a catalogue missing a WAL segment, naming the segment where replay stopped', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'faultline-barman-gap-'));
    dirs.push(copy);
    cpSync(made.dir, copy, { recursive: true });
    // The user's files rewritten to name the copy, as if the catalogue lived there.
    for (const file of [join(copy, 'barman.conf'), ...readdirSync(join(copy, 'barman.d')).map((f) => join(copy, 'barman.d', f))]) {
      writeFileSync(file, readFileSync(file, 'utf8').replaceAll(made.dir, copy));
    }
    const after = made.walSegments.filter((s) => s > made.walSegments[1]!);
    const missing = after[Math.floor(after.length / 2)]!;
    unlinkSync(join(copy, 'barman', made.server, 'wals', missing.slice(0, 16), missing));
    const { exitCode, result, all } = await prove(join(copy, 'barman.conf'), made.server);
    expect(exitCode, all).toBe(1);
    const reached = requireCheck(result, 'recovery-reached');
    expect(reached.valid, reached.summary).toBe(false);
    expect(reached.summary).toContain(missing);
  });
});
