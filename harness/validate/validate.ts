// `faultline validate`: the user's configuration judged twice. First statically, by the preflight
// rules (a second, no containers); then by drills on real containers running the user's settings,
// where the run's own checks are the evidence. The verdict is the union: a danger either finds is a
// failure, with the reason in one sentence.

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { runExperiment, type ExperimentResult } from '../experiment/index.ts';
import { postgresImage, redisImage, serverLabel, type RedisServer } from '../engines/index.ts';
import type { SettingMapping } from '../engines/postgres/index.ts';
import { randomSeed } from '../random.ts';
import { PACKAGE_VERSION } from '../package-root.ts';
import { ConfigError } from '../errors.ts';
import { runPreflight, runRules } from './rules/index.ts';
import { sentinelRules } from './rules/sentinel.ts';
import { explainSentinelDrill, loadSentinelConfig, sentinelDrills } from './sentinel.ts';
import type { Finding } from './rules/types.ts';
import { loadUserConfig, type LoadedUserConfig, type UserConfigFiles } from './user-config.ts';
import { validateDrills, type ValidateDrill } from './drills.ts';
import { patroniDrills } from './ha-drills.ts';
import { explainDrill } from './explain.ts';

export const VALIDATE_SCHEMA_VERSION = 1;

export interface ValidateOptions extends UserConfigFiles {
  /** The user's postgresql.conf; optional with patroniConf (Patroni's parameters are the server's settings). */
  postgresConf?: string;
  /** The user's sentinel.conf: the drills run a Redis cluster under Sentinel instead (with redisConf, the servers' redis.conf). */
  sentinelConf?: string;
  redisConf?: string;
  seed?: number;
  /** Folder for validate.json, junit.xml, report.html and the drills' runs. */
  outDir?: string;
  /** Only these drills (by name); all by default. */
  drills?: string[];
  /** Preflight only: no containers. */
  noDrills?: boolean;
  /** Drills run at once. Default: 2 on a machine with 2 or more cores. */
  concurrency?: number;
  /** The loss the user accepts: lost writes pass when the data they take is within it. Default: none. */
  rpoBudgetMs?: number;
  log?: (line: string) => void;
  image?: string;
}

export interface DrillOutcome {
  name: string;
  title: string;
  /** `unavailable`: the topology cannot stage it (why says so); `broken`: the run itself failed. */
  status: 'pass' | 'fail' | 'unavailable' | 'broken';
  /** One sentence: why it failed, or why it did not run. */
  why?: string;
  seed: number;
  writes?: { acknowledged: number; lost: number | null; indeterminate: number };
  restoreCompleted?: boolean | null;
  rpo?: { writes: number | null; ms: number | null };
  rtoMs?: number | null;
  failedChecks?: string[];
  durationMs?: number;
  /** The drill's own run folder and report, relative to the validate folder. */
  runDir?: string;
  report?: string;
}

export interface ValidateResult {
  schemaVersion: number;
  /**
   * `fail`: an error finding, or a drill whose evidence shows loss, damage or a failed restore;
   * `broken`: no finding is an error and no drill failed, but some drill broke (faultline's own
   * failure, or a setting the server refused at start), so safety was not shown; `pass`: every drill
   * that ran passed. A broken drill never makes the configuration read as unsafe.
   */
  verdict: 'pass' | 'fail' | 'broken';
  /** 0 pass; 1 fail; 3 broken. */
  exitCode: 0 | 1 | 3;
  /** Why the verdict is what it is when drills broke or none could run. */
  note?: string;
  seed: number;
  inputs: { postgresConf?: string; pgbackrestConf?: string; patroniConf?: string; sentinelConf?: string; redisConf?: string; topology?: string };
  /** The PostgreSQL major the configuration was checked and drilled as, and what decided it (PostgreSQL configurations). */
  postgres?: { version: number; source: LoadedUserConfig['postgres']['source']; decidedBy: string };
  /** The server the Sentinel configuration was drilled with (--sentinel-conf). */
  redis?: { server: RedisServer; version: number };
  assumptions: string[];
  findings: Finding[];
  /** Settings that run differently in containers, and why. */
  mapped: SettingMapping[];
  drills: DrillOutcome[];
  versions: Record<string, string>;
  durationMs: number;
  dir: string;
}

/** What a validate run needs from its engine: the findings, the drills, and how to build and explain them. */
interface Prepared {
  findings: Finding[];
  drills: ValidateDrill[];
  assumptions: string[];
  mapped: SettingMapping[];
  about: Pick<ValidateResult, 'postgres' | 'redis'>;
  image: (log: (line: string) => void) => Promise<string>;
  explain: (drill: ValidateDrill, result: ExperimentResult) => string;
  /** How --drill names the drills' kind in an error: 'beside Patroni'… */
  kind: string;
}

function preparePostgres(options: ValidateOptions): Prepared {
  let loaded: LoadedUserConfig;
  try {
    loaded = loadUserConfig(options);
  } catch (error) {
    // Preflight reads the files, not the containers: a setting the drills cannot run does not stop it.
    if (!(options.noDrills && error instanceof ConfigError)) throw error;
    loaded = loadUserConfig(options, { applySettings: false });
    loaded.assumptions.push(`the drills could not run some settings (not needed with --no-drills): ${error.message}`);
  }
  const findings = runPreflight(loaded.config);
  const budget = options.rpoBudgetMs === undefined ? {} : { rpoBudgetMs: options.rpoBudgetMs };
  return {
    findings,
    drills: loaded.spec.postgres.ha ? patroniDrills(loaded.spec, budget) : validateDrills(loaded.spec, budget),
    assumptions: loaded.assumptions,
    mapped: loaded.topology.postgres.applied.mapped,
    about: { postgres: { version: loaded.postgres.major, source: loaded.postgres.source, decidedBy: loaded.postgres.decidedBy } },
    image: (log) => postgresImage(loaded.topology.postgres.version, { log }),
    explain: (drill, result) => explainDrill(drill, result, findings, loaded),
    kind: loaded.spec.postgres.ha ? 'beside Patroni' : 'without an HA manager',
  };
}

function prepareSentinel(options: ValidateOptions & { sentinelConf: string }): Prepared {
  const loaded = loadSentinelConfig({ sentinelConf: options.sentinelConf, ...(options.redisConf ? { redisConf: options.redisConf } : {}), ...(options.topology ? { topology: options.topology } : {}) });
  const findings = runRules(loaded.config, sentinelRules);
  const { server, version } = loaded.topology.redis;
  return {
    findings,
    drills: sentinelDrills(loaded.spec, loaded.topology, options.rpoBudgetMs === undefined ? {} : { rpoBudgetMs: options.rpoBudgetMs }),
    assumptions: [...loaded.assumptions, `${serverLabel(server, version)}${options.topology ? '' : " (faultline's default; a topology file's redis.engine and redis.version choose another)"}: the drills run it`],
    mapped: [],
    about: { redis: { server, version } },
    image: (log) => redisImage(server, version, { log }),
    explain: (_drill, result) => explainSentinelDrill(result, findings),
    kind: 'beside Sentinel',
  };
}

/** Runs preflight and drills; throws ConfigError (exit 2) for unreadable input before anything starts. */
export async function validate(options: ValidateOptions): Promise<ValidateResult> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const prepared = options.sentinelConf ? prepareSentinel({ ...options, sentinelConf: options.sentinelConf }) : preparePostgres(options);
  const { findings } = prepared;
  const seed = options.seed ?? randomSeed();
  const dir = resolve(options.outDir ?? join('faultline-out', 'validate', new Date().toISOString().replace(/[:.]/g, '-')));
  mkdirSync(dir, { recursive: true });
  const drills = selectDrills(prepared, options.drills);
  const versions: Record<string, string> = { faultline: PACKAGE_VERSION, node: process.version };
  const outcomes = options.noDrills ? [] : await runDrills(drills, prepared, seed, dir, options, log, versions);
  const { verdict, exitCode, note } = validateVerdict(findings, outcomes, options.noDrills === true);
  if (note) log(`validate: ${note}`);
  const input = (file: string | undefined) => (file ? resolve(file) : undefined);
  const inputs = Object.fromEntries(
    Object.entries({ postgresConf: input(options.postgresConf), patroniConf: input(options.patroniConf), sentinelConf: input(options.sentinelConf), redisConf: input(options.redisConf), pgbackrestConf: input(options.pgbackrestConf), topology: input(options.topology) }).filter(([, v]) => v !== undefined),
  ) as ValidateResult['inputs'];
  const result: ValidateResult = {
    schemaVersion: VALIDATE_SCHEMA_VERSION,
    verdict,
    exitCode,
    ...(note ? { note } : {}),
    seed,
    inputs,
    ...prepared.about,
    assumptions: prepared.assumptions,
    findings,
    mapped: prepared.mapped,
    drills: outcomes,
    versions,
    durationMs: Math.round(performance.now() - started),
    dir,
  };
  return result;
}

/** The drills named by `--drill` (each must exist), or all of them. */
function selectDrills(prepared: Prepared, names: string[] | undefined): ValidateDrill[] {
  const all = prepared.drills;
  if (!names || names.length === 0) return all;
  const chosen = all.filter((d) => names.includes(d.name));
  if (chosen.length === 0) {
    throw new ConfigError(`--drill ${names.join(', ')}: ${prepared.kind} the drills are ${all.map((d) => d.name).join(', ')}`);
  }
  return chosen;
}

async function runDrills(
  drills: ValidateDrill[],
  prepared: Prepared,
  seed: number,
  dir: string,
  options: ValidateOptions,
  log: (line: string) => void,
  versions: Record<string, string>,
): Promise<DrillOutcome[]> {
  const runnable = drills.filter((d) => !d.unavailable);
  // Built (or found) once, before drills run side by side: two would otherwise build it at once.
  const image = options.image ?? (runnable.length > 0 ? await prepared.image(log) : undefined);
  const concurrency = Math.max(1, options.concurrency ?? Math.min(2, availableParallelism()));
  log(`validate: ${runnable.length} drill(s) on your settings, ${concurrency} at a time (seed ${seed})`);
  const outcomes = new Map<string, DrillOutcome>();
  for (const d of drills) if (d.unavailable) outcomes.set(d.name, { name: d.name, title: d.title, status: 'unavailable', why: d.unavailable, seed });
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < runnable.length) {
      const drill = runnable[next++]!;
      const result = await runExperiment(drill.definition, { seed, outDir: join(dir, 'drills'), log: (line) => log(line), ...(image ? { image } : {}) });
      outcomes.set(drill.name, outcomeOf(drill, result, prepared, dir));
      Object.assign(versions, result.versions);
      done++;
      log(`validate: ${done}/${runnable.length} drills done (${drill.name}: ${result.verdict})`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, runnable.length) }, worker));
  return drills.map((d) => outcomes.get(d.name)!);
}

function outcomeOf(drill: ValidateDrill, result: ExperimentResult, prepared: Prepared, dir: string): DrillOutcome {
  const failing = result.checks.filter((c) => c.status === 'fail' || c.status === 'unknown').map((c) => c.name);
  // A run that broke (a cluster that never started, faultline's own error) proves nothing about the
  // settings, whatever its checks say: the reason is the run's error, never a finding.
  const status = result.verdict;
  const outcome: DrillOutcome = {
    name: drill.name,
    title: drill.title,
    status,
    seed: result.seed,
    writes: { acknowledged: result.writes.acknowledged, lost: result.writes.lost, indeterminate: result.writes.indeterminate },
    restoreCompleted: result.restore.completed,
    rpo: result.rpo,
    rtoMs: result.rtoMs,
    failedChecks: failing,
    durationMs: result.timings.totalMs,
    runDir: relative(dir, result.dir),
    report: relative(dir, join(result.dir, 'report.html')),
  };
  if (status === 'broken') outcome.why = `the drill could not run: ${result.error!.split('\n')[0]}`;
  else if (status !== 'pass') outcome.why = prepared.explain(drill, result);
  return outcome;
}

/**
 * The verdict of a validate run. Error findings and failed drills make it `fail`. Broken drills show
 * nothing either way: named, never counted as unsafe; with no failure otherwise the verdict is
 * `broken` (exit 3), since safety was not shown. Drills asked for of which none could run (each
 * unavailable) is no pass either: `fail`, as nothing was shown.
 */
export function validateVerdict(findings: readonly Finding[], outcomes: readonly DrillOutcome[], noDrills: boolean): Pick<ValidateResult, 'verdict' | 'exitCode' | 'note'> {
  const errors = findings.some((f) => f.severity === 'error');
  const failed = outcomes.filter((o) => o.status === 'fail');
  const broken = outcomes.filter((o) => o.status === 'broken');
  const ran = outcomes.filter((o) => o.status !== 'unavailable');
  const brokeNote = broken.length > 0 ? `${broken.length} drill(s) broke and showed nothing either way: ${broken.map((o) => o.name).join(', ')} (faultline's own failure or a setting the server refused; see each drill's run error)` : undefined;
  if (errors || failed.length > 0) return { verdict: 'fail', exitCode: 1, ...(brokeNote ? { note: brokeNote } : {}) };
  if (!noDrills && outcomes.length > 0 && ran.length === 0) return { verdict: 'fail', exitCode: 1, note: 'no drill could run on this topology, so nothing was shown' };
  if (broken.length > 0) {
    const all = broken.length === ran.length;
    return { verdict: 'broken', exitCode: 3, note: `${all ? 'every drill that ran broke' : `no drill failed, but ${broken.length} of ${ran.length} broke`}, so the configuration was ${all ? 'neither shown safe nor unsafe' : 'not shown safe'}: ${brokeNote}` };
  }
  return { verdict: 'pass', exitCode: 0 };
}
