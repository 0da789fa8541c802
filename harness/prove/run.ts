// One proof of a user's backup: inspect it (nothing started, nothing written), list the user's
// paths, restore into a scratch node with no route out, judge what it showed, list the paths again,
// and write the same files every run writes (history.jsonl, result.json, junit.xml, report.html).

import { readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { DockerRun } from '../cluster/docker/docker-run.ts';
import { getEngine } from '../cluster/docker/engine.ts';
import type { BackupSource, Engine, InspectedBackup, ProveBackupAbility, ProveEvidence, RecoveryTarget } from '../cluster/engine.ts';
import { ConfigError, describeError, EnvironmentError, FaultlineError } from '../errors.ts';
import { engines } from '../engines/registry.ts';
import { HistoryWriter } from '../history/writer.ts';
import { PACKAGE_VERSION } from '../package-root.ts';
import type { ExperimentResult } from '../report/result.ts';
import { buildProofResult } from '../report/proof.ts';
import type { ProveRecord, UnchangedEvidence } from '../history/prove-evidence.ts';
import { writeRunFiles } from '../report/files.ts';
import { createRunDir } from '../report/run-dir.ts';
import { formatBytes } from '../units.ts';
import { compareListings, describeChanges, listTree, type TreeListing } from './listing.ts';

/** The scratch node's failure domain: a volume of its own. */
const SCRATCH_DOMAIN = 'scratch';

export interface ProveRequest {
  source: BackupSource;
  target?: RecoveryTarget;
  maxAgeMs?: number;
  rtoBudgetMs?: number;
  /** The user's own checks (SQL, or Redis commands). */
  checkFile?: string;
  /** PostgreSQL: the role to connect as over the scratch node's local socket. Default `postgres`. */
  dbUser?: string;
  /** Where the proof's folder goes: `<outDir>/<name>/<time>/`. Default `faultline-out`. */
  outDir?: string;
  /** The result's name (the folder and the JUnit suite). Default `prove-backup`. */
  name?: string;
  /** How long the restore, replay and checks may take together. Default 60 min. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** What preflight established: which engine restores it, and what the backup is. */
export interface Preflight {
  engine: Engine;
  ability: ProveBackupAbility;
  backup: InspectedBackup;
  checks?: { file: string; text: string };
}

/** The engine that restores a kind of backup. */
function abilityFor(kind: string): { engine: Engine; ability: ProveBackupAbility } {
  for (const engine of engines) if (engine.proveBackup?.sources.includes(kind)) return { engine, ability: engine.proveBackup };
  const kinds = engines.flatMap((e) => e.proveBackup?.sources ?? []);
  throw new ConfigError(`No engine restores backups of kind '${kind}': faultline proves ${kinds.join(', ')}`);
}

/** The backups a source names: itself, or one per stanza of a list or '*'. */
export function expandSource(source: BackupSource): BackupSource[] {
  const { ability } = abilityFor(source.kind);
  return ability.expand ? ability.expand(source) : [source];
}

/**
 * Everything that can be wrong with the input, found before anything starts: the backup (a path,
 * stanza or compression that is not there), the checks file, and the space the scratch node needs.
 */
export async function preflight(request: ProveRequest): Promise<Preflight> {
  const { engine, ability } = abilityFor(request.source.kind);
  const backup = await ability.inspect(request.source);
  let checks: Preflight['checks'];
  if (request.checkFile) {
    let text: string;
    try {
      text = readFileSync(request.checkFile, 'utf8');
    } catch (error) {
      throw new ConfigError(`Cannot read the checks file '${request.checkFile}' (--check): ${describeError(error)}`);
    }
    ability.parseChecks(text, request.checkFile); // throws a ConfigError naming the line
    checks = { file: request.checkFile, text };
  }
  await checkFreeSpace(backup);
  return { engine, ability, backup, ...(checks ? { checks } : {}) };
}

/** The scratch node's volume is a sparse file on the Docker engine's disk: what it must be able to hold. */
async function checkFreeSpace(backup: InspectedBackup): Promise<void> {
  const root = await getEngine().then((e) => e.docker.info()).then((info: { DockerRootDir?: string }) => info.DockerRootDir).catch(() => undefined);
  if (!root) return; // no engine answers: the start says so
  let free: number;
  try {
    const stats = statfsSync(root);
    free = stats.bavail * stats.bsize;
  } catch {
    return; // a remote engine: its disk is not this machine's to measure
  }
  if (free < backup.bytes) {
    throw new EnvironmentError(
      `Too little free space for the scratch node: restoring ${backup.source.label} needs ${formatBytes(backup.bytes)} (${backup.bytesFrom}), ` +
        `and the Docker engine's disk (${root}) has ${formatBytes(free)} free. Free some space there, or run on a machine with more.`,
    );
  }
}

/** What the proof lists before and after: the user's mounted paths, and repositories it reads over the network. */
function listables(backup: InspectedBackup): Array<{ what: string; where: string; list: () => Promise<TreeListing> }> {
  return [...backup.paths.map((p) => ({ what: p.what, where: p.source, list: () => listTree(p.source) })), ...(backup.remote ?? [])];
}

/** Lists each of them; a listing that cannot be taken is a ConfigError naming it (before) or the proof's error (after). */
async function listAll(backup: InspectedBackup): Promise<TreeListing[]> {
  return Promise.all(listables(backup).map((l) => l.list()));
}

/**
 * Proves one backup and returns its result (also written to `<outDir>/<name>/<time>/`). Throws a
 * ConfigError for bad input before anything starts, an EnvironmentError when the machine cannot run
 * it; a proof that breaks midway is reported as `broken`, a restore that fails as `fail`.
 */
export async function proveBackup(request: ProveRequest, ready?: Preflight): Promise<ExperimentResult> {
  const startedAt = performance.now();
  const log = request.log ?? (() => {});
  const name = request.name ?? 'prove-backup';
  const checked = ready ?? (await preflight(request));
  const { ability, backup } = checked;
  const before = await listAll(backup);
  const dir = createRunDir(request.outDir ?? 'faultline-out', name);
  const history = new HistoryWriter(join(dir, 'history.jsonl'), startedAt);
  history.append({ type: 'run', phase: 'start', experiment: name, seed: 0, wallTime: new Date().toISOString() });
  const phase = (text: string) => {
    history.append({ type: 'run', phase: 'phase', name: text });
    log(`${name}: ${text}`);
  };
  phase(`${backup.source.label}: ${backup.server} ${backup.major} (${backup.majorFrom}); backup ${backup.backup.label}; a scratch volume of ${formatBytes(backup.bytes)} (${backup.bytesFrom})`);
  const listed = listables(backup);
  for (const [i, listing] of before.entries()) phase(`listed ${listed[i]!.what} ${listing.root}: ${listing.files} files, ${formatBytes(listing.bytes)}`);
  const versions: Record<string, string> = { faultline: PACKAGE_VERSION, node: process.version };
  const phases: Record<string, number> = {};
  let evidence: ProveEvidence | undefined;
  let error: string | undefined;
  let abort: FaultlineError | undefined;
  let run: DockerRun | undefined;
  try {
    const image = await ability.image(backup, { log: (line) => log(`${name}: ${line}`) });
    versions.image = image;
    // No route out at all, unless the repository is reached over the network: the engine then allows only its endpoint.
    run = await DockerRun.create([SCRATCH_DOMAIN], { internal: !backup.reach?.length, logs: { dir: join(dir, 'logs'), ...ability.logs } });
    history.append({ type: 'run', phase: 'phase', name: 'scratch node starting', runId: run.id });
    history.append({ type: 'recovery', phase: 'start', name: 'restore', detail: `prove ${backup.source.label}` });
    evidence = await ability.prove(backup, image, {
      run,
      domain: SCRATCH_DOMAIN,
      target: request.target ?? { kind: 'latest' },
      ...(checked.checks ? { checks: checked.checks } : {}),
      ...(request.dbUser ? { dbUser: request.dbUser } : {}),
      timeoutMs: request.timeoutMs ?? 60 * 60_000,
      log: (line) => phase(line),
      phases,
    });
    versions[checked.engine.name] = evidence.version;
    history.append({ type: 'recovery', phase: 'end', name: 'restore', outcome: evidence.started ? 'ok' : 'failed', ...(evidence.startError ? { detail: evidence.startError } : {}) });
  } catch (caught) {
    if (caught instanceof FaultlineError && (caught.code === 'E_CONFIG' || caught.code === 'E_ENVIRONMENT' || caught.code === 'E_INTERRUPTED')) abort = caught;
    else {
      error = describeError(caught);
      history.append({ type: 'run', phase: 'phase', name: `error: ${error}` });
      log(`${name}: faultline's own error: ${error}`);
    }
  } finally {
    if (run) {
      phase('removing the scratch node');
      await run.cleanup().catch((e: unknown) => log(`${name}: clean-up failed: ${describeError(e)}`));
    }
  }
  let unchanged: UnchangedEvidence | undefined;
  try {
    const after = await listAll(backup);
    unchanged = {
      paths: listed.map((p, i) => {
        const changes = compareListings(before[i]!, after[i]!);
        return { source: p.where, what: p.what, files: before[i]!.files, bytes: before[i]!.bytes, changes: changes.length, described: describeChanges(changes) };
      }),
    };
  } catch (caught) {
    error ??= `the listing after the proof failed: ${describeError(caught)}`;
  }
  history.append({ type: 'run', phase: 'end' });
  history.close();
  if (abort) throw abort;
  const record: ProveRecord = {
    source: backup.source,
    major: backup.major,
    majorFrom: backup.majorFrom,
    backup: backup.backup,
    bytes: backup.bytes,
    bytesFrom: backup.bytesFrom,
    target: describeTarget(request.target),
    phases,
    ...(evidence ? { evidence } : {}),
    ...(unchanged ? { unchanged } : {}),
    judged: { at: new Date().toISOString(), ...(request.maxAgeMs !== undefined ? { maxAgeMs: request.maxAgeMs } : {}), ...(request.rtoBudgetMs !== undefined ? { rtoBudgetMs: request.rtoBudgetMs } : {}), checksGiven: checked.checks !== undefined },
  };
  const result = buildProofResult({ name, record, runId: run?.id ?? null, timings: { clusterReadyMs: null, workloadMs: null, totalMs: Math.round(performance.now() - startedAt) }, versions, dir, ...(error ? { error } : {}) });
  writeRunFiles(result, []);
  return result;
}

function describeTarget(target: RecoveryTarget | undefined): string {
  if (!target || target.kind === 'latest') return 'latest';
  return target.kind === 'time' ? `time ${target.time.toISOString()}` : `lsn ${target.lsn}`;
}
