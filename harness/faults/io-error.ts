import { canaryProblems, checkVolume, faultfsCtl, faultfsStatus, targetNodes, VOLUME_PARAM, volumeOf } from './faultfs.ts';
import { ensureServerUp } from './node-ops.ts';
import type { Fault } from './types.ts';

const OPS = ['fsync', 'write', 'read', 'open', 'any'];
const ERRNOS = ['EIO', 'ENOSPC', 'EROFS'];

/**
 * io-error: the node's storage answers matching calls with an error, through faultfs. The fault
 * ends by removing its rule; it then counts how many calls the rule failed, and a rule that failed
 * none did not test anything. `clean: yes` adds what Linux does after a failed fsync: the pages are
 * marked clean, so the data that did not reach the disk is dropped from the cache and a retried
 * fsync "succeeds" without it (Rebello et al., "Can Applications Recover from fsync Failures?",
 * ATC 2020).
 */
export const ioError: Fault = {
  name: 'io-error',
  description: "The node's storage returns an error (EIO, ENOSPC, EROFS) on reads, writes, fsyncs or opens of matching files (faultfs)",
  mirrors: 'a failing SAN path or a controller upgrade returns I/O errors',
  targets: ['node', 'domain'],
  disruptive: true,
  healable: true,
  params: {
    op: { description: 'which calls fail: fsync (also fdatasync), write (also truncate), read, open (also create) or any', kind: 'choice', choices: OPS, default: 'fsync' },
    errno: { description: 'the error they return', kind: 'choice', choices: ERRNOS, default: 'EIO' },
    path: {
      description:
        "a POSIX extended regular expression searched in the file's path within the volume, e.g. '^pgdata/base/' (PostgreSQL's tables), '^pgdata/pg_wal/' (its WAL), 'appendonly' (Redis's AOF); default every file",
      kind: 'text',
    },
    probability: { description: 'each matching call fails with this probability (0 to 1)', kind: 'fraction', default: 1 },
    count: { description: 'only the first N matching calls fail (default: all, while the fault lasts)', kind: 'number' },
    clean: {
      description: "'yes': a failed fsync drops the file's un-synced data, as Linux marks failed pages clean; a later fsync succeeds without it",
      kind: 'choice',
      choices: ['no', 'yes'],
      default: 'no',
    },
    volume: VOLUME_PARAM,
  },
  faultfs: (params) => (params.clean === 'yes' ? 'lost-writes' : 'errors'),
  check(topology, params) {
    const volume = checkVolume(topology, params);
    if (volume) return volume;
    if (params.path === undefined) return undefined;
    try {
      new RegExp(String(params.path));
    } catch (error) {
      return `parameter 'path' is not a regular expression: ${error instanceof Error ? error.message : String(error)}`;
    }
    return undefined;
  },
  async inject(_context, target, params) {
    const nodes = targetNodes(target);
    if (nodes.length === 0) return { detail: `no node left in ${target.label}`, noEffect: `every node of ${target.label} is lost` };
    const canary = await canaryProblems(nodes);
    if (canary) return { detail: `not applied: ${canary}`, noEffect: `${canary}; the errors were not injected` };
    const rule = [`op=${params.op}`, `errno=${params.errno}`];
    if (params.path !== undefined) rule.push(`path=${params.path}`);
    if (Number(params.probability) < 1) rule.push(`prob=${params.probability}`);
    if (params.count !== undefined) rule.push(`count=${params.count}`);
    const clean = params.clean === 'yes';
    const installed = await Promise.all(
      nodes.map(async (node) => {
        const lun = volumeOf(node, params.volume as string | undefined);
        const before = Number((await faultfsStatus(node, lun)).errors_injected ?? 0);
        if (clean) await faultfsCtl(node, ['fsync-clean', 'on'], lun);
        const id = (await faultfsCtl(node, ['error', ...rule], lun)).replace(/^rule /, '');
        return { node, lun, id, before };
      }),
    );
    const what = `${params.op} ${params.errno}${params.path !== undefined ? ` on paths matching ${params.path}` : ''}${Number(params.probability) < 1 ? ` with probability ${params.probability}` : ''}${params.count !== undefined ? `, first ${params.count} calls` : ''}${clean ? ', failed fsyncs drop the un-synced data' : ''}`;
    return {
      detail: `${what} on ${nodes.map((n) => n.name).join(', ')}${params.volume ? ` (volume '${params.volume}')` : ''}`,
      heal: async () => {
        const results = await Promise.all(
          installed.map(async ({ node, lun, id, before }) => {
            if (node.lost) return { node, failed: 0, restarted: `${node.name} is lost` };
            await faultfsCtl(node, ['remove', id], lun);
            if (clean) await faultfsCtl(node, ['fsync-clean', 'off'], lun);
            const failed = Number((await faultfsStatus(node, lun)).errors_injected ?? 0) - before;
            return { node, failed, restarted: await ensureServerUp(node) };
          }),
        );
        const failed = results.reduce((sum, r) => sum + r.failed, 0);
        const detail = `${results.map((r) => `${r.node.name}: ${r.failed} calls failed; ${r.restarted}`).join('; ')}`;
        return failed > 0 ? { detail } : { detail, noEffect: `no call matched (${what}): nothing failed, so the drill tested nothing` };
      },
    };
  },
};
