// The topology's side of incremental backups (backupTool 'pg_basebackup-incremental'): the
// `incrementalAfter` field, and what a topology asking for them must have (PostgreSQL 17 or later,
// an archive node to hold the chain).

import { z } from 'zod';
import { describeValue as describe } from '../../schema.ts';
import { parseDuration } from '../../units.ts';
import { DEFAULT_POSTGRES } from './versions.ts';

export const INCREMENTAL_TOOL = 'pg_basebackup-incremental';
/** The first PostgreSQL major with incremental base backups, WAL summaries and pg_combinebackup. */
const FIRST_INCREMENTAL_MAJOR = 17;

const timeValue = z.union([z.string(), z.number()]);
export const incrementalAfterSchema = z
  .array(timeValue, { error: (i) => `'incrementalAfter' must be a list of times after the full backup, e.g. ['1s', '2s'], got ${describe(i.input)}` })
  .superRefine((times, ctx) => {
    times.forEach((time, index) => {
      const ms = parseDuration(time);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', path: [index], message: `'incrementalAfter' entry ${describe(time)} is not a time after the full backup: write it like '800ms' or '2s' (more than 0)` });
      }
    });
  })
  .optional()
  .meta({
    description:
      "With backupTool `pg_basebackup-incremental`: when to take incremental backups, as times after the fresh full backup (`freshBackupAt`) has ended, e.g. `['800ms', '1600ms']`. Each is a `pg_basebackup --incremental` of the primary against the previous backup's manifest; the fresh backup ends with the last of them, so what the drill schedules after `freshBackupAt` waits for the whole chain. After a failover the chain goes on with an incremental from the new primary; one PostgreSQL refuses is recorded, and a new full backup starts a new chain. A restore combines the chain and closes it. Without it only the full backup is taken.",
  });

/** The times, in milliseconds after the full backup, in order (validated by the schema). */
export function incrementalAfterMs(times: Array<string | number> | undefined): number[] {
  return (times ?? []).map((time) => parseDuration(time) ?? 0).sort((a, b) => a - b);
}

/** What is wrong with a topology's incremental backups, as [path under `postgres`, message] pairs. */
export function incrementalIssues(postgres: { version?: number | undefined; backupTool?: string | undefined; incrementalAfter?: unknown[] | undefined }, hasArchive: boolean): Array<[Array<string | number>, string]> {
  const issues: Array<[Array<string | number>, string]> = [];
  if (postgres.backupTool !== INCREMENTAL_TOOL) {
    if (postgres.incrementalAfter !== undefined) {
      issues.push([['incrementalAfter'], `'incrementalAfter' needs backupTool '${INCREMENTAL_TOOL}' (the topology's is '${postgres.backupTool ?? 'pg_receivewal'}'): set "backupTool": "${INCREMENTAL_TOOL}", or remove 'incrementalAfter'`]);
    }
    return issues;
  }
  const version = postgres.version ?? DEFAULT_POSTGRES;
  if (version < FIRST_INCREMENTAL_MAJOR) {
    issues.push([['backupTool'], `'backupTool' '${INCREMENTAL_TOOL}' needs PostgreSQL ${FIRST_INCREMENTAL_MAJOR} or later (incremental pg_basebackup, summarize_wal and pg_combinebackup came in ${FIRST_INCREMENTAL_MAJOR}), and this topology runs PostgreSQL ${version}: set "version": ${FIRST_INCREMENTAL_MAJOR} (or later), or use backupTool 'pg_receivewal'`]);
  }
  if (!hasArchive) issues.push([['backupTool'], `'backupTool' is '${INCREMENTAL_TOOL}' but no node has role 'archive' to hold the backup chain and the WAL archive: add one, e.g. {"name": "pg-archive", "role": "archive", "domain": "backup-site"}`]);
  return issues;
}
