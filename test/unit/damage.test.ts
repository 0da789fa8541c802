import { describe, expect, it } from 'vitest';
import { damageStillThere, type Damage } from '../../harness/cluster/damage.ts';
import type { ClusterNode } from '../../harness/cluster/engine.ts';

/** A node whose shell answers with this exit code and output (the read-back command's shape is the product's own). */
function node(exitCode: number, stdout: string, stderr = ''): ClusterNode {
  return { name: 'pg-primary', exec: async (command: string[]) => ({ node: 'pg-primary', command, exitCode, stdout, stderr, durationMs: 1 }) } as unknown as ClusterNode;
}

const places: Damage[] = [
  { offset: 100, hex: 'aabb' },
  { offset: 9000, hex: 'ccdd' },
];

describe('reading damage back', () => {
  it('counts the places that still hold the garbage', async () => {
    expect(await damageStillThere(node(0, 'aabb\nccdd\n'), '/f', places)).toBe(2);
    expect(await damageStillThere(node(0, 'aabb\n0000\n'), '/f', places)).toBe(1);
    expect(await damageStillThere(node(0, '0000\n0000\n'), '/f', places)).toBe(0);
  });

  it('throws when the file could not be read (a lost container or volume), rather than calling the damage overwritten', async () => {
    await expect(damageStillThere(node(137, '', 'dd: /f: Input/output error'), '/f', places)).rejects.toThrow(/could not read the damaged places of \/f on pg-primary back \(exit 137\): dd: \/f: Input\/output error/);
  });
});
