// The server's own verification of the user's files before the server loads anything: redis-check-rdb
// on each RDB (dump.rdb, an AOF's RDB base) where they are mounted, redis-check-aof on the AOF's copy.

import type { ToolReading } from '../../../cluster/prove-ability.ts';
import { readRedisCheck } from '../final-state.ts';
import type { RedisNodeHandle } from '../redis-node.ts';
import { REDIS_DATA } from '../redis-node.ts';
import { REDIS_DIR_MOUNT, type RedisDetails } from './inspect.ts';

/** The lines of a check tool's output that say what it found (its errors, else its verdict and counts). */
export function toolWords(output: string, damaged: boolean): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const said = damaged
    ? lines.filter((l) => !l.startsWith('[info]') && !/AUX FIELD|Checking RDB file|Selecting DB|^Start/.test(l) && /error|not valid|invalid|unexpected|truncated|checksum|corrupt|bad|wrong|format/i.test(l))
    : lines.filter((l) => /looks OK|is valid|are valid|keys read/i.test(l));
  return (said.length > 0 ? said.slice(0, 4) : lines.slice(-3)).join(' / ') || 'no output';
}

/** One tool on one file of the mount, read as damaged, ok or unknown in the tool's own words. */
async function check(node: RedisNodeHandle, tool: 'check-rdb' | 'check-aof', file: string, what: string): Promise<ToolReading> {
  const name = `${node.server}-${tool}`;
  // redis-check-aof opens its files for writing (for --fix), which the read-only mount refuses: it
  // reads the byte-for-byte copy instead. As root: it reads files only their owner may.
  const where = tool === 'check-aof' ? REDIS_DATA : REDIS_DIR_MOUNT;
  const record = await node.exec([name, `${where}/${file}`], { user: 'root', timeoutMs: 24 * 3600_000 });
  const output = `${record.stdout}\n${record.stderr}`;
  const reading = readRedisCheck(record.exitCode, output);
  const words = toolWords(output, reading.verdict !== 'ok');
  const copy = tool === 'check-aof' ? ' (its copy in the scratch node)' : '';
  return { tool: name, verdict: reading.verdict, detail: `${what}${copy}: ${reading.verdict === 'unknown' ? (reading.why ?? words) : words}` };
}

/**
 * Valkey 9 writes an AOF base with its own magic ("VALKEY"), which its check-aof reads as commands
 * and calls a format error though the server loads it: then the base is judged by check-rdb alone.
 */
function valkeyBaseMisread(reading: ToolReading, base: string | undefined): boolean {
  return reading.verdict === 'damaged' && base !== undefined && base.endsWith('.rdb') && new RegExp(`AOF ${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} format error`).test(reading.detail);
}

/** Every file the server would load, each by the tool for its format (after the copy, before the server starts). */
export async function verifyFiles(node: RedisNodeHandle, details: RedisDetails): Promise<ToolReading[]> {
  const { layout } = details;
  const readings: ToolReading[] = [];
  if (layout.rdb) readings.push(await check(node, 'check-rdb', layout.rdb, layout.rdb));
  const aof = layout.aof;
  if (aof?.kind === 'single') readings.push(await check(node, 'check-aof', aof.file, aof.file));
  if (aof?.kind === 'multi') {
    if (aof.base?.endsWith('.rdb') && !aof.missing.includes(aof.base)) readings.push(await check(node, 'check-rdb', `${aof.dir}/${aof.base}`, `${aof.dir}/${aof.base} (the AOF's base)`));
    const whole = await check(node, 'check-aof', `${aof.dir}/${aof.manifest}`, `${aof.dir}/${aof.manifest} and the files it names`);
    if (node.server === 'valkey' && valkeyBaseMisread(whole, aof.base)) {
      for (const incr of aof.incr) readings.push(await check(node, 'check-aof', `${aof.dir}/${incr}`, `${aof.dir}/${incr} (checked apart: ${node.server}-check-aof misreads a base with Valkey's magic)`));
    } else readings.push(whole);
  }
  return readings;
}
