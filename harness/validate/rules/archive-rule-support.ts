// What the archive rules share: the archive_command the archiver runs, the scripts and mount kinds
// the user gave, and how a finding names a step, a destination and its source. Pure: no I/O.

import { copiesOf, type Copy } from './archive-copies.ts';
import { readSteps, type Step } from './archive-steps.ts';
import { archiving, setting } from './settings.ts';
import type { Source, UserConfig } from './types.ts';

/** The user's archive_command when the archiver runs it (archive_mode on, no archive_library), with its source. */
export function activeArchiveCommand(config: UserConfig): { command: string; source: Source } | undefined {
  if (!archiving(config)) return undefined;
  if (setting(config, 'archive_library').value.trim()) return undefined;
  const archiveCommand = setting(config, 'archive_command');
  const command = archiveCommand.value.trim();
  return command ? { command, source: archiveCommand.source } : undefined;
}

/** The active archive_command read into steps (its scripts' too), with the copies it makes; undefined when the archiver runs none. */
export function archiveCopies(config: UserConfig): { source: Source; steps: Step[]; copies: Copy[] } | undefined {
  const active = activeArchiveCommand(config);
  if (!active) return undefined;
  const steps = readSteps(active.command, scriptsOf(config));
  return { source: active.source, steps, copies: copiesOf(steps) };
}

/** The scripts the user gave: the topology's, then the options'. */
export function scriptsOf(config: UserConfig): Record<string, string> {
  return { ...(config.topology.postgres.archiveScripts ?? {}), ...(config.archiveScripts ?? {}) };
}

/** The mount kinds the user gave: the topology's, then the options'. */
export function mountsOf(config: UserConfig): Record<string, 'nfs-sync' | 'nfs-async' | 'local'> {
  return { ...(config.topology.postgres.archiveMounts ?? {}), ...(config.archiveMounts ?? {}) };
}

/** Where a finding about a step points: its script's line, or archive_command's. */
export function sourceOf(step: Step, command: Source): Source {
  return step.file ? { file: step.file, ...(step.line ? { line: step.line } : {}) } : command;
}

/** A step as a message names it: "cp %p /mnt/wal/%f", or "cp "$1" … (line 4 of /usr/local/bin/x.sh)". */
export function describeStep(step: Step): string {
  const text = `'${step.shown}${step.redirects.filter((r) => r.op.startsWith('>')).map((r) => ` ${r.fd === '1' ? '' : r.fd}${r.op} ${r.target}`).join('')}'`;
  const host = step.remote ? ` on ${step.remote.host}` : '';
  return step.file ? `${text}${host} (${step.file}${step.line ? `, line ${step.line}` : ''})` : `${text}${host}`;
}

/** A copy's destination as a message names it: '/mnt/wal/%f', or 'backup-host:/srv/wal/%f'. */
export function describeDestination(copy: Copy): string {
  return copy.remote ? `${copy.remote.host}:${copy.file}` : copy.file;
}

/** Findings in order, each message once. */
export function once<T extends { message: string }>(hits: T[]): T[] {
  const seen = new Set<string>();
  return hits.filter((hit) => !seen.has(hit.message) && seen.add(hit.message));
}
