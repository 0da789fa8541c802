// The nodes' logs kept with a run (`logs/<node>/<file>` in its folder) and their manifest,
// `logs/logs.json`, which the clean-up writes as it collects them and the report reads back.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The manifest's place in a run's folder. */
export const LOGS_MANIFEST = join('logs', 'logs.json');

/** One log file kept with the run. */
export interface RunLog {
  node: string;
  /** Its name under `logs/<node>/`, e.g. `postgresql.log` or `pgbackrest/main-backup.log`. */
  file: string;
  /** Its path relative to the run's folder: `logs/<node>/<file>`. */
  path: string;
  /** Its size in the node when collected. */
  bytes: number;
  /** Only its end was kept (the file's first line then says how many bytes were left out). */
  truncated: boolean;
  /** Lines of the kept part that often explain a failure (a PANIC, an error), the last few. */
  notable?: string[];
}

export interface LogsManifest {
  logs: RunLog[];
  /** What could not be collected, and why (a node that was gone, the time bound reached). */
  problems: string[];
}

/** The logs of the run in `dir`, from its manifest; undefined when it has none (an older run, a test). */
export function readRunLogs(dir: string): LogsManifest | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, LOGS_MANIFEST), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LogsManifest>;
    return { logs: Array.isArray(parsed.logs) ? parsed.logs : [], problems: Array.isArray(parsed.problems) ? parsed.problems : [] };
  } catch {
    return { logs: [], problems: [`${LOGS_MANIFEST} is not valid JSON`] };
  }
}
