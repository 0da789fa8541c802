// What a proof of a user's backup saw (`faultline prove-backup`), kept in result.json: as the final
// state is to a run, the evidence is to a proof, and its checks are pure functions of it.

/** The user's backup as the command line names it: a kind and its paths and names. */
export interface BackupSource {
  /** e.g. 'pgbackrest', 'base-backup', 'redis-dir'. */
  kind: string;
  /** The option values for that kind, as given (paths resolved). */
  options: Record<string, string>;
  /** Shown in lines and the result, e.g. "stanza 'main' of /etc/pgbackrest/pgbackrest.conf". */
  label: string;
}

/** The backup restored, and when it stopped (when the repository says). */
export interface ProvedBackup {
  label: string;
  stoppedAt?: string;
}

/** One integrity tool's run on the restored data. */
export interface ToolReading {
  tool: string;
  verdict: 'ok' | 'damaged' | 'unknown' | 'skipped';
  /** Its words: what it found, or why it could not tell, or why it did not run. */
  detail: string;
}

/** The result of one of the user's own checks. */
export interface UserCheckResult {
  index: number;
  line: number;
  where: string;
  text: string;
  ok: boolean;
  why: string;
}

/** What the proof saw: every check of the result is a pure function of this. */
export interface ProveEvidence {
  /** The server's version line, e.g. 'PostgreSQL 17.7 (Debian 17.7-3)'. */
  version: string;
  image: string;
  /** The server came up on the restored data ... */
  started: boolean;
  /** ... and why not, in its own words (the log's last lines). */
  startError?: string;
  /** A read and a write on the restored server, each with what was seen. */
  read?: { ok: boolean; detail: string };
  write?: { ok: boolean; detail: string };
  /** Where replay stopped and what it is judged against (PostgreSQL); Redis: what was loaded. */
  reached?: {
    /** e.g. 'replay ended at 0/5000060 on timeline 1'. */
    point: string;
    lsn?: string;
    timeline?: number;
    /** The last restored commit's time (ISO), when the server knows it. */
    lastCommitAt?: string;
    /** The newest point the backups hold, for people ('WAL up to 000000010000000000000007'). */
    newest?: string;
    /** Set when replay stopped short of what the backups hold (a gap, damage): the reason, naming the first missing segment. */
    short?: string;
    /** The target asked for and whether it was reached, and how that is known. */
    target?: { asked: string; reached: boolean; detail: string };
    /** A count of what was restored, e.g. 'WAL segments replayed', 'keys'. */
    counts?: Record<string, number>;
  };
  /** The freshest time the restored data can be dated by, and by what. */
  freshness?: { at: string; by: 'last-commit' | 'backup-stop' | 'newest-segment' | 'dump-time'; detail: string };
  integrity: ToolReading[];
  /** Only when the user gave --check. */
  userChecks?: UserCheckResult[];
  /** Wall time of each phase, ms: fetch, restore, replay, checks. */
  phases: Record<string, number>;
  /** How the user's paths were mounted in the scratch node ('ro' from Docker and from /proc/mounts). */
  mounts: Array<{ target: string; flags: string }>;
  /** What the proof had to decide for the user, said in the result (a missing postgresql.conf, …). */
  notes: string[];
}

/** What a proof restored and saw (result.json's `prove`). */
export interface ProveRecord {
  source: BackupSource;
  major: number;
  majorFrom: string;
  backup: ProvedBackup;
  bytes: number;
  bytesFrom: string;
  /** 'latest', 'time …' or 'lsn …'. */
  target: string;
  /** Wall time of each phase, ms. */
  phases: Record<string, number>;
  evidence?: ProveEvidence;
  /** The listings of the user's paths before and after, compared (absent when the second could not be taken). */
  unchanged?: UnchangedEvidence;
  /** What the checks judged against: the budgets given and when (freshness is an age at that time). */
  judged: { at: string; maxAgeMs?: number; rtoBudgetMs?: number; checksGiven: boolean };
}

/** One file, directory or link of a repository as listed. */
export interface ListedEntry {
  /** Relative to the root, '/'-separated; '' when the root is a single file. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  /** Modification time in nanoseconds since the epoch, as decimal text (a bigint does not fit JSON). */
  mtimeNs: string;
  mode: number;
}

/** A repository as it was at takenAt. */
export interface TreeListing {
  root: string;
  /** Sorted by path. */
  entries: ListedEntry[];
  /** Sum of the sizes of regular files. */
  bytes: number;
  files: number;
  /** ISO time the listing started. */
  takenAt: string;
}

/** What the listings of the user's paths before and after the proof showed. */
export interface UnchangedEvidence {
  /** Each read-only path, with a description of how it changed ('unchanged' when it did not). */
  paths: Array<{ source: string; what: string; files: number; bytes: number; changes: number; described: string }>;
}
