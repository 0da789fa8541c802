// The backup tools behind hooks (backup-tool.ts), by the name a topology gives them. The built-in
// ones (pg_receivewal, pgBackRest, incremental pg_basebackup) have none: their steps are inline.

import type { BackupToolHooks } from './backup-tool.ts';
import type { PostgresTopology } from './topology.ts';
import { userArchiveTool } from './user-archive/index.ts';
import { barmanTool } from './barman/index.ts';

const TOOLS: Record<string, BackupToolHooks> = { archive_command: userArchiveTool, barman: barmanTool };

/** The hooks of the topology's backup tool, or undefined for a built-in one. */
export function backupToolHooks(topology: PostgresTopology): BackupToolHooks | undefined {
  return TOOLS[topology.postgres.backupTool];
}
