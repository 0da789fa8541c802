// Proves a refactor kept behaviour: compares the verdict and every check's status of each shipped
// experiment's runs (result.json, keyed by experiment and seed) between a run before and one after.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

const USAGE = 'usage: node scripts/compare-behaviour.ts BEFORE_DIR AFTER_DIR [--allow FILE]\n' +
  "  (the dirs are --out folders of `node harness/cli.ts run '*' --seeds 1..3 --out DIR`)";
const VERDICT = '(verdict)';

/** `varies`: the checks an experiment declares its finding in, when it says the finding may not show on every run (shows.always false). */
interface Run { experiment: string; seed: number; verdict: string; checks: Map<string, string>; file: string; order: number[]; varies: Set<string> }
interface Allow { experiment?: string; check?: string; reason: string }
interface Diff { experiment: string; seed: number; check: string; before: string; after: string }

function usage(problem: string): never {
  console.error(`compare-behaviour: ${problem}\n${USAGE}`);
  process.exit(2);
}

/** Every result.json under dir, not following symbolic links (each experiment's `latest` is one). */
function resultFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...resultFiles(path));
    else if (entry.isFile() && entry.name === 'result.json') found.push(path);
  }
  return found;
}

/** The `shows` an experiment declared, from its history's first event (undefined when none can be read). */
function showsOf(history: string): { failing?: string[]; always?: boolean } | undefined {
  try {
    const first = JSON.parse(readFileSync(history, 'utf8').split('\n', 1)[0]!) as { expectations?: { shows?: { failing?: string[]; always?: boolean } } };
    return first.expectations?.shows;
  } catch {
    return undefined;
  }
}

/** Newest first by the run folder's stamp (<iso-time>[-N], see harness/report/run-dir.ts), then the file's time. */
function orderOf(file: string): number[] {
  const m = /^(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d)Z(?:-(\d+))?$/.exec(basename(dirname(file)));
  const mtime = statSync(file).mtimeMs;
  const stamp = m ? Date.parse(`${m[1]}:${m[2]}:${m[3]}Z`) : NaN;
  return [Number.isNaN(stamp) ? mtime : stamp, Number(m?.[4] ?? 1), mtime];
}

function load(dir: string, side: string): Map<string, Run> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) usage(`${side} directory ${dir} does not exist or is not a directory; pass the --out folder of a run`);
  const files = resultFiles(dir);
  if (files.length === 0) usage(`no result.json found under ${side} directory ${dir}; run the experiments with --out ${dir} first, or point at the right folder`);
  const runs = new Map<string, Run>();
  for (const file of files) {
    let raw: { experiment?: unknown; seed?: unknown; verdict?: unknown; checks?: Array<{ name: string; ok?: boolean; status?: string }>; shows?: { failing?: string[]; always?: boolean } };
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as typeof raw;
    } catch (error) {
      console.error(`warning: skipping ${file}: ${(error as Error).message}`);
      continue;
    }
    if (typeof raw.experiment !== 'string' || typeof raw.seed !== 'number') {
      console.error(`warning: skipping ${file}: no experiment or seed`);
      continue;
    }
    const checks = new Map((raw.checks ?? []).map((c) => [c.name, c.status ?? (c.ok ? 'pass' : 'fail')] as const));
    // What the experiment declares is in its run's first history event (expectations.shows).
    const shows = raw.shows ?? showsOf(join(dirname(file), 'history.jsonl'));
    const varies = new Set(shows?.always === false ? [VERDICT, ...(shows.failing ?? [])] : []);
    const run: Run = { experiment: raw.experiment, seed: raw.seed, verdict: String(raw.verdict), checks, file, order: orderOf(file), varies };
    const key = `${run.experiment}\u0000${run.seed}`;
    const other = runs.get(key);
    if (other) {
      const i = run.order.findIndex((v, n) => v !== other.order[n]);
      const newer = i >= 0 && run.order[i]! > other.order[i]! ? run : other;
      const older = newer === run ? other : run;
      console.error(`note: ${side} has ${run.experiment} seed ${run.seed} more than once; using the newest ${relative(dir, newer.file)}, not ${relative(dir, older.file)}`);
      runs.set(key, newer);
    } else runs.set(key, run);
  }
  return runs;
}

function loadAllow(file: string): Allow[] {
  let list: unknown;
  try {
    list = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    usage(`cannot read allow-list ${file}: ${(error as Error).message}`);
  }
  const ok = Array.isArray(list) && list.every((a: Partial<Allow> | null) =>
    a !== null && typeof a === 'object' && typeof a.reason === 'string' && ['undefined', 'string'].includes(typeof a.experiment) && ['undefined', 'string'].includes(typeof a.check));
  if (!ok) usage(`allow-list ${file} must be a JSON array of {"experiment"?: string, "check"?: string, "reason": string}`);
  return list as Allow[];
}

const args = process.argv.slice(2);
const dirs: string[] = [];
let allowFile: string | undefined;
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  if (arg === '--allow') allowFile = args[++i] ?? usage('--allow needs a FILE');
  else if (arg.startsWith('--allow=')) allowFile = arg.slice('--allow='.length);
  else if (arg === '-h' || arg === '--help') { console.log(USAGE); process.exit(0); }
  else if (arg.startsWith('-')) usage(`unknown option ${arg}`);
  else dirs.push(arg);
}
if (dirs.length !== 2) usage(`expected two directories (BEFORE_DIR AFTER_DIR), got ${dirs.length}`);
const allows = allowFile ? loadAllow(allowFile) : [];
const before = load(dirs[0]!, 'BEFORE');
const after = load(dirs[1]!, 'AFTER');

const allowed = (d: { experiment: string; check: string }): Allow | undefined =>
  allows.find((a) => (a.experiment === undefined || a.experiment === d.experiment) && (a.check === undefined || a.check === d.check));
const diffs: Diff[] = [];
const allowedDiffs: Array<Diff & { reason: string }> = [];
let compared = 0, identical = 0, differ = 0, allowedOnly = 0;
const onlyOne: string[] = [];
const keys = [...new Set([...before.keys(), ...after.keys()])].sort((a, b) => {
  const [ea, sa] = a.split('\u0000'), [eb, sb] = b.split('\u0000');
  return ea!.localeCompare(eb!) || Number(sa) - Number(sb);
});
for (const key of keys) {
  const b = before.get(key), a = after.get(key);
  if (!b || !a) {
    const run = (b ?? a)!;
    const allow = allowed({ experiment: run.experiment, check: '(pair)' });
    if (allow) allowedDiffs.push({ experiment: run.experiment, seed: run.seed, check: '(pair)', before: b ? 'present' : 'absent', after: a ? 'present' : 'absent', reason: allow.reason });
    else onlyOne.push(`${run.experiment} seed ${run.seed}: only in ${b ? 'BEFORE' : 'AFTER'} (${run.file})`);
    continue;
  }
  compared++;
  let hard = 0, soft = 0;
  const names = [VERDICT, ...new Set([...b.checks.keys(), ...a.checks.keys()])];
  for (const check of names) {
    const was = check === VERDICT ? b.verdict : (b.checks.get(check) ?? '(absent)');
    const now = check === VERDICT ? a.verdict : (a.checks.get(check) ?? '(absent)');
    if (was === now) continue;
    const diff = { experiment: b.experiment, seed: b.seed, check, before: was, after: now };
    // A finding the experiment itself says may not show on every run (timing): pass and fail both hold.
    const declared = b.varies.has(check) && a.varies.has(check) && [was, now].every((v) => v === 'pass' || v === 'fail')
      ? { reason: 'the experiment declares this finding may not show on every run (shows.always false)' } : undefined;
    const allow = declared ?? allowed(diff);
    if (allow) { allowedDiffs.push({ ...diff, reason: allow.reason }); soft++; } else { diffs.push(diff); hard++; }
  }
  if (hard > 0) differ++; else if (soft > 0) allowedOnly++; else identical++;
}

function table(rows: Array<Record<string, string | number>>): void {
  const cols = Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(width[i]!)).join('  ').trimEnd();
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c]))));
}

if (diffs.length > 0) { console.log('Differences:'); table(diffs.map((d) => ({ ...d }))); console.log(''); }
if (onlyOne.length > 0) { console.log('On one side only:'); for (const o of onlyOne) console.log(`  ${o}`); console.log(''); }
if (allowedDiffs.length > 0) {
  console.log('Allowed differences:');
  table(allowedDiffs.map(({ reason, ...d }) => ({ ...d, allowed: `allowed: ${reason}` })));
  console.log('');
}
console.log(`${compared} pairs compared, ${identical} identical, ${differ} differ` +
  (allowedOnly > 0 ? `, ${allowedOnly} differ only as allowed` : '') + (onlyOne.length > 0 ? `; ${onlyOne.length} on one side only` : ''));
process.exit(differ > 0 || onlyOne.length > 0 ? 1 : 0);
