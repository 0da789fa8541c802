// The final state read back from the recovered cluster: with the history, all that checkers see.
// Written to final-state.json beside history.jsonl, so `faultline report` can check a run again.

import type { Millis } from './events.ts';

/** Table name to a content hash of all its rows. */
export type TableHashes = Record<string, string>;

/** What the harness read back from the cluster after the run (gathered by the runner, checked here). */
export interface FinalState {
  /** When the final read began. */
  time: Millis;
  primary: {
    node: string;
    /** Ledger rows, key to value; absent when the primary could not be read. */
    rows?: Record<string, string>;
    tables?: TableHashes;
    error?: string;
  } | null;
  replicas: Array<{ node: string; tables?: TableHashes; error?: string }>;
  /** Server verification tools run on the recovered cluster (pg_amcheck, …). */
  integrity: Array<{ tool: string; node: string; exitCode: number; output: string }>;
  /** A write attempted on the recovered primary after the run: did it get acknowledged? */
  probe: { ok: boolean; time: Millis; latencyMs: number; node: string; error?: string } | null;
}

