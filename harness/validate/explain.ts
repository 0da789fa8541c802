// Why a drill failed, in one sentence a user understands: what the checks saw (writes lost, a
// restore that stopped short), then the preflight finding behind it only where the drill's own
// evidence shows that finding's mechanism at work. A finding the evidence does not link to the
// failure is never named as its cause: the sentence is then just what the checks saw.

import type { RestoreLoss } from '../checkers/index.ts';
import type { ExperimentResult } from '../experiment/index.ts';
import type { Finding } from './rules/types.ts';
import { TOPOLOGY } from './rules/settings.ts';
import type { LoadedUserConfig } from './user-config.ts';
import type { ValidateDrill } from './drills.ts';

/** Checks in the order a user cares about: the first failing one is what the sentence says. A system that stopped serving comes first. */
const CHECK_ORDER = ['availability', 'restore-completed', 'lost-writes', 'integrity', 'anomalies', 'archive-continuity', 'replica-parity', 'restore-rehearsal', 'faults-applied'];

type Check = ExperimentResult['checks'][number];

/** What the drill showed, read once from its result: the only ground a cause may stand on. */
export interface DrillEvidence {
  check: (name: string) => Check | undefined;
  failed: (name: string) => boolean;
  /** Acknowledged writes lost (0 when the check could not tell). */
  lost: number;
  /** Of them, how many came with PostgreSQL's "committed locally" warning (a cancelled synchronous wait). */
  lostWithWarning: number;
  /** Why a restore lost them, where what it recorded shows it. */
  restoreLoss?: RestoreLoss;
  /** Did a fault of this name take effect (on this target, when given)? */
  applied: (fault: string, target?: string) => boolean;
  /** Recovery actions that ended well ('failover', 'restore', 'runbook'). */
  recovered: string[];
  /** The primary at the end (the node that took the probe write). */
  finalPrimary?: string;
  /** WAL segments the archive lacks at the end of the run. */
  archiveHoles: string[];
  /** Servers that did not start again when the power came back, with the server's own last words. */
  notRestarted: Array<{ node: string; why: string }>;
}

/** A power-loss heal's record of each server it could not start (see faults/power-loss.ts). */
const NOT_RESTARTED = /([a-z][a-z0-9-]*) did not start again: (.*?)(?=; [a-z][a-z0-9-]*(?: (?:did not start again|restarted|still running|is lost|ran no server)|'s SSH server)|$)/g;

/** The servers a power loss left unable to start, read from what the fault recorded when it healed. */
export function notRestartedAfterPowerLoss(faults: ExperimentResult['faults']): Array<{ node: string; why: string }> {
  return faults
    .filter((f) => f.name === 'power-loss' && f.detail?.includes('healed: '))
    .flatMap((f) => [...f.detail!.slice(f.detail!.indexOf('healed: ')).matchAll(NOT_RESTARTED)].map((m) => ({ node: m[1]!, why: serverWords(m[2]!) })));
}

/** The server's FATAL or PANIC lines of a failed start (other lines only when it said neither), without their log prefix. */
function serverWords(lines: string): string {
  const all = lines.split(' / ').map((l) => l.replace(/^\d{4}-\d\d-\d\d [\d:.]+ \w+ \[\d+\]\s*(\S+\s+)??(?=[A-Z]+:)/, '').replace(/:\s+/, ': ').trim());
  const fatal = all.filter((l) => /^(FATAL|PANIC):/.test(l));
  return (fatal.length > 0 ? fatal : all).join('; ');
}

export function drillEvidence(result: ExperimentResult): DrillEvidence {
  const check = (name: string) => result.checks.find((c) => c.name === name);
  const lostWrites = check('lost-writes')?.details ?? {};
  const rehearsal = check('restore-rehearsal')?.details ?? {};
  const notApplied = new Set(
    ((check('faults-applied')?.details.notApplied ?? []) as Array<{ name: string; target: string; startMs: number }>)
      .concat((check('faults-applied')?.details.optionalNotApplied ?? []) as Array<{ name: string; target: string; startMs: number }>)
      .map((f) => `${f.name} ${f.target} ${f.startMs}`),
  );
  const recoveries = (check('restore-completed')?.details.recoveries ?? []) as Array<{ name: string; outcome?: string }>;
  const completed = check('restore-completed')?.details as { node?: string } | undefined;
  const archive = check('archive-continuity')?.details as { missing?: string[] } | undefined;
  return {
    check,
    failed: (name) => check(name)?.status === 'fail',
    lost: typeof lostWrites.lost === 'number' ? lostWrites.lost : 0,
    lostWithWarning: typeof lostWrites.lostWithWarning === 'number' ? lostWrites.lostWithWarning : 0,
    ...((lostWrites.restoreLoss ?? rehearsal.restoreLoss) ? { restoreLoss: (lostWrites.restoreLoss ?? rehearsal.restoreLoss) as RestoreLoss } : {}),
    applied: (fault, target) =>
      result.faults.some((f) => f.name === fault && (target === undefined || f.target === target) && !f.notApplied && !notApplied.has(`${f.name} ${f.target} ${f.startMs}`)),
    recovered: recoveries.filter((r) => r.outcome === 'ok').map((r) => r.name),
    ...(completed?.node ? { finalPrimary: completed.node } : {}),
    archiveHoles: archive?.missing ?? [],
    notRestarted: notRestartedAfterPowerLoss(result.faults),
  };
}

/**
 * A preflight rule's mechanism, and what of it a drill can show: given the drill's evidence and the
 * finding, the rest of the sentence after what the checks saw, or undefined when the evidence does
 * not show this mechanism at work.
 */
interface Mechanism {
  rules: string[];
  shows: (evidence: DrillEvidence, finding: Finding, loaded: LoadedUserConfig) => string | undefined;
}

/** What a power loss did that only a power loss can: acknowledged writes gone, damage found, or a server that could not start again. */
const powerLossShowed = (e: DrillEvidence, damage: 'any' | 'damage') =>
  e.applied('power-loss') && (e.failed('integrity') || e.notRestarted.length > 0 || (damage === 'any' && e.lost > 0));

const crashed = (e: DrillEvidence) => (e.applied('process-crash') || e.applied('power-loss')) && e.recovered.length === 0;

/** In order: where two findings both fit, the first named is the one whose mechanism is most direct. */
const MECHANISMS: Mechanism[] = [
  {
    // The archive received no WAL: the restore could bring back the base backup alone.
    rules: ['archive-command-noop', 'archive-mode-off', 'wal-level-minimal'],
    shows: (e, f) => (e.restoreLoss?.kind === 'no-wal' ? `the archive held no WAL segment after the base backup: ${f.message}` : undefined),
  },
  {
    // A hole in the archive: WAL the primary recycled or pgBackRest dropped never reached it.
    rules: ['pgbackrest-queue-max', 'slot-wal-limit'],
    shows: (e, f) => (e.archiveHoles.length > 0 ? `the archive lacks WAL segment${e.archiveHoles.length > 1 ? 's' : ''} ${shown(e.archiveHoles)}: ${f.message}` : undefined),
  },
  {
    // The lost writes came after the last segment archive_command had pushed.
    rules: ['archive-timeout-zero'],
    shows: (e, f) =>
      e.restoreLoss?.kind === 'after-archive' && e.restoreLoss.archive === 'archive_command'
        ? `${e.restoreLoss.after} of them were acknowledged after the last WAL segment the archive held${e.restoreLoss.lastSegment ? ` (${e.restoreLoss.lastSegment})` : ''}: ${f.message}`
        : undefined,
  },
  {
    // The archive was in the domain the drill lost, with the primary.
    rules: ['archive-same-domain'],
    shows: (e, f, loaded) => {
      if (f.source?.file !== TOPOLOGY.file) return undefined;
      const nodes = loaded.topology.postgres.nodes;
      const primary = nodes.find((n) => n.role === 'primary');
      const archives = nodes.filter((n) => n.role === 'archive' && n.domain === primary?.domain);
      if (!primary || archives.length === 0 || !e.applied('domain-loss', `domain:${primary.domain}`)) return undefined;
      return `${f.message}; losing that domain took ${archives.map((n) => `'${n.name}'`).join(' and ')} with the primary`;
    },
  },
  {
    // A promoted replica lacked what the old primary acknowledged: without a warning, a standby
    // that cannot be promoted (or none at all) had confirmed them.
    rules: ['sync-standby-archive', 'sync-standby-unknown'],
    shows: (e, f) => (e.recovered.includes('failover') && e.lost > e.lostWithWarning ? `${f.message} (${e.finalPrimary ?? 'the replica'} was promoted without them)` : undefined),
  },
  {
    rules: ['async-replica'],
    shows: (e, f) => (e.recovered.includes('failover') && e.lost > 0 ? `${f.message} (${e.finalPrimary ?? 'the replica'} was promoted without them)` : undefined),
  },
  {
    // Under Patroni: the old primary acknowledged writes after a replica was promoted (a hung Patroni could not stop it).
    rules: ['patroni-no-watchdog'],
    shows: (e, f) => {
      const split = e.check('split-brain');
      return split?.status === 'fail' ? `${f.message}, and ${split.summary.replace(/^two primaries acknowledged writes at once: /, '')}` : undefined;
    },
  },
  {
    // Under Patroni: it promoted a replica that had not received what the old primary acknowledged.
    rules: ['patroni-async-failover'],
    shows: (e, f) => {
      const promotions = (e.check('manager-acted')?.details.promotions ?? []) as Array<{ node: string; previous?: string }>;
      if (promotions.length === 0 || e.lost === 0 || e.failed('split-brain')) return undefined;
      return `${f.message} (Patroni promoted ${promotions[0]!.node}${promotions[0]!.previous ? ` in place of ${promotions[0]!.previous}` : ''} without them)`;
    },
  },
  {
    // Lost on the primary itself, with no failover or restore in between.
    rules: ['synchronous-commit-off'],
    shows: (e, f) => (crashed(e) && e.lost > 0 ? `${f.message} (the primary crashed and came back by itself)` : undefined),
  },
  {
    // Only a power loss drops what was written but not flushed; a process crash keeps the page cache.
    rules: ['fsync-off'],
    shows: (e, f) => (powerLossShowed(e, 'any') ? `${f.message} (the power was cut)` : undefined),
  },
  {
    // A torn page shows as damage (data checksums, amcheck) or as a server whose recovery stops on it; lost writes alone are not its mark.
    rules: ['full-page-writes-off'],
    shows: (e, f) => (powerLossShowed(e, 'damage') ? `${f.message} (the power was cut mid-write)` : undefined),
  },
  {
    // A failed fsync the server carried on from: the pages the kernel dropped are missing after the crash.
    rules: ['data-sync-retry'],
    shows: (e, f) => (e.applied('io-error') && (e.lost > 0 || e.failed('integrity')) ? `${f.message} (an fsync of a table file failed, and after the crash the data it should have written was not there)` : undefined),
  },
  {
    // Commits that wait for standbys that cannot come: the servers showed it, or nothing was acknowledged.
    rules: ['sync-standby-unreachable'],
    shows: (e, f) => {
      if (e.failed('availability')) return f.message;
      return e.check('lost-writes')?.details.acknowledged === 0 ? `${f.message} (no write was acknowledged)` : undefined;
    },
  },
  {
    // The only way back was a restore, and it lost what the archive had not received yet.
    rules: ['no-replica'],
    shows: (e, f) => (e.restoreLoss?.kind === 'after-archive' && e.recovered.some((r) => r !== 'failover') ? `${f.message}, and the restore lost what the archive had not received` : undefined),
  },
];

function shown(segments: string[]): string {
  return segments.length > 4 ? `${segments.slice(0, 3).join(', ')} … ${segments.at(-1)} (${segments.length})` : segments.join(', ');
}

/**
 * What a drill's sentence leads with: the first failing (or unknown) check in `order` (checks not in
 * it after), and what it says (lost writes counted); or, when no check failed, why the drill could not run.
 */
export function leadingCheck(result: ExperimentResult, order: readonly string[]): { first: Check; what: string } | { couldNotRun: string } {
  const failing = result.checks.filter((c) => c.status === 'fail' || c.status === 'unknown');
  if (failing.length === 0) return { couldNotRun: `the drill could not run: ${(result.error ?? 'no check failed, yet the run failed').split('\n')[0]}` };
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  const first = [...failing].sort((a, b) => rank(a.name) - rank(b.name))[0]!;
  const what = first.name === 'lost-writes' && first.status === 'fail' && result.writes.lost !== null ? `${result.writes.lost} of ${result.writes.acknowledged} acknowledged writes were lost` : first.summary.replace(/[.:]\s*$/, '');
  return { first, what };
}

export function explainDrill(_drill: ValidateDrill, result: ExperimentResult, findings: Finding[], loaded: LoadedUserConfig): string {
  const lead = leadingCheck(result, CHECK_ORDER);
  if ('couldNotRun' in lead) return lead.couldNotRun;
  const { first } = lead;
  const evidence = drillEvidence(result);
  // A server that could not start on what the power loss left is what the user must hear first: every other failing check follows from it.
  const what = evidence.notRestarted.length > 0 ? `${evidence.notRestarted.map((n) => `${n.node} did not start again after the power loss (${n.why})`).join('; ')}` : lead.what;
  for (const mechanism of MECHANISMS) {
    for (const finding of findings.filter((f) => f.severity !== 'info' && mechanism.rules.includes(f.rule))) {
      const tail = mechanism.shows(evidence, finding, loaded);
      if (tail) return `${what}: ${tail}`;
    }
  }
  const shared = sharedDomain(evidence, loaded);
  if (shared) return `${what}: ${shared}`;
  // No finding explains it; what the restore recorded may still say why the writes were lost.
  if (first.name === 'lost-writes' && evidence.restoreLoss) return `${what}: ${evidence.restoreLoss.summary}`;
  return what;
}

/** The nodes the drill lost with the primary's domain, when it did lose that domain and others were in it. */
function sharedDomain(evidence: DrillEvidence, loaded: LoadedUserConfig): string | undefined {
  const nodes = loaded.topology.postgres.nodes;
  const primary = nodes.find((n) => n.role === 'primary');
  if (!primary || !evidence.applied('domain-loss', `domain:${primary.domain}`)) return undefined;
  const shared = nodes.filter((n) => n !== primary && n.domain === primary.domain);
  if (shared.length === 0) return undefined;
  return `${shared.map((n) => `'${n.name}' (${n.role})`).join(' and ')} ${shared.length === 1 ? 'was' : 'were'} in the primary's failure domain '${primary.domain}' and went with it`;
}
