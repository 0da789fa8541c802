// The installed entry (harness/bin.ts) refuses a Node.js older than package.json's engines with a
// sentence and exit 3, before it loads the CLI, and on a recent Node.js goes on to the CLI.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const entry = 'harness/bin.ts';
// CI's machines, like the development one, have a distribution Node.js 20 there; the CLI runs on a newer one.
const oldNode = process.env.FAULTLINE_OLD_NODE ?? '/usr/bin/node';
const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;

describe('the faultline entry checks the Node.js version first', () => {
  it('declares the Node.js version it checks for in package.json engines', () => {
    expect(engines).toBe('>=22.22');
    expect(readFileSync(entry, 'utf8')).toMatch(/major: 22, minor: 22/);
  });

  it('imports nothing statically, so an old Node.js reaches the check', () => {
    expect(stripTypeScriptTypes(readFileSync(entry, 'utf8'))).not.toMatch(/^\s*(import|export)\b(?!\()/m);
  });

  it('refuses an old Node.js with exit 3 and a message naming both versions', async () => {
    if (!existsSync(oldNode)) throw new Error(`This test runs the entry on an old Node.js, expected at ${oldNode} (set FAULTLINE_OLD_NODE to another): it is not there`);
    const version = execFileSync(oldNode, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    const [major, minor] = version.split('.').map(Number);
    if (!(major! < 22 || (major === 22 && minor! < 22))) throw new Error(`${oldNode} is Node.js ${version}, not older than 22.22: this test needs an old one (set FAULTLINE_OLD_NODE)`);
    // Node.js 20 cannot run TypeScript: the entry with its types stripped, as tsc would emit it.
    const dir = mkdtempSync(join(tmpdir(), 'faultline-bin-'));
    const stripped = join(dir, 'bin.mjs');
    writeFileSync(stripped, stripTypeScriptTypes(readFileSync(entry, 'utf8')));
    const result = await execa(oldNode, [stripped, '--version'], { reject: false }).finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(result.exitCode, result.stderr).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`faultline needs Node.js 22.22 or newer; this is Node.js ${version}. Install Node.js 22.22 or newer`);
  });

  it('goes on to the command line on this Node.js', async () => {
    const result = await execa(process.execPath, [entry, '--version'], { reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });
});
