// A user's own runbook as the recovery, whatever the engine: the engine prepares what an operator
// would have (an empty node, the context); this runs the command in a process group of its own,
// streams its output, stops the whole group at its budget, and then holds it to its contract: a
// named primary that accepts writes. The contract is in docs/runbooks.md.

import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { ClusterError, describeError } from '../errors.ts';
import { waitFor } from '../wait.ts';
import type { RunbookOptions, StartedCluster } from '../cluster/engine.ts';

/** How long a named primary may take to accept writes once the runbook has exited. */
const READY_MS = 15_000;
/** setTimeout's limit (about 24.8 days): a longer budget would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Between SIGTERM and SIGKILL when the budget is spent. */
const GRACE_MS = 3_000;

/** Runs the runbook on a cluster whose engine has runbooks; returns what it did, or throws why it failed. */
export async function runRunbook(cluster: StartedCluster, options: RunbookOptions): Promise<string> {
  const runbooks = cluster.engine.runbooks;
  if (!runbooks) throw new ClusterError(`runbooks are not supported for ${cluster.engine.label} yet: use ${cluster.engine.recoveryActions.join(' or ')}`);
  const dir = join(options.dir, 'runbook');
  mkdirSync(join(dir, 'work'), { recursive: true });
  const contextFile = join(dir, 'context.json');
  const resultFile = join(dir, 'result.json');
  const prepared = await runbooks.prepare(cluster, { domain: options.domain });
  writeFileSync(contextFile, `${JSON.stringify(prepared.context, null, 2)}\n`);
  const env: Record<string, string> = {
    FAULTLINE_CONTEXT: contextFile,
    FAULTLINE_RESULT: resultFile,
    FAULTLINE_WORKDIR: join(dir, 'work'),
    FAULTLINE_RUN_ID: cluster.runId,
    ...prepared.env,
  };

  const output = createWriteStream(join(dir, 'runbook.log'));
  const started = performance.now();
  options.log(`runbook: ${options.command} (budget ${Math.round(options.budgetMs / 1000)} s; context in ${contextFile})`);
  // A process group of its own (detached), so the budget stops everything it started.
  const child = spawn('/bin/sh', ['-c', options.command], { env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const pid = child.pid!;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is gone already
    }
  };
  // If faultline itself is interrupted or exits, the runbook goes with it.
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  const tail: string[] = [];
  const emit = (name: string, line: string) => {
    output.write(`${name}| ${line}\n`);
    options.log(`runbook| ${line}`);
    tail.push(line);
    if (tail.length > 15) tail.shift();
  };
  const partials: Record<string, string> = { out: '', err: '' };
  for (const [stream, name] of [[child.stdout, 'out'], [child.stderr, 'err']] as const) {
    stream?.on('data', (chunk: Buffer) => {
      const lines = (partials[name] + chunk.toString('utf8')).split('\n');
      partials[name] = lines.pop() ?? '';
      for (const line of lines) emit(name, line);
    });
  }
  // The shell's exit, not its pipes closing: a process it left in the background keeps them open.
  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    child.once('error', () => resolve({ exitCode: 127, signal: null }));
  });
  let timedOut = false;
  const budget = setTimeout(() => {
    timedOut = true;
    options.log(`runbook: budget of ${Math.round(options.budgetMs / 1000)} s spent: stopping its process group`);
    killGroup('SIGTERM');
    setTimeout(() => killGroup('SIGKILL'), GRACE_MS).unref();
  }, Math.min(options.budgetMs, MAX_TIMER_MS));
  const ended = await exited;
  clearTimeout(budget);
  // Children that outlived the shell (a backgrounded step) are stopped too, and waited for.
  const groupGone = async (timeoutMs: number) =>
    waitFor({ what: `the runbook's process group ${pid} to end`, timeoutMs, intervalMs: 100 }, async () => {
      try {
        process.kill(-pid, 0);
        return undefined;
      } catch {
        return true;
      }
    }).then(
      () => true,
      () => false,
    );
  killGroup('SIGTERM');
  if (!(await groupGone(GRACE_MS))) {
    killGroup('SIGKILL');
    if (!(await groupGone(2_000))) options.log(`runbook: process group ${pid} outlived SIGKILL`);
  }
  process.removeListener('exit', onExit);
  // Its pipes close once the group is gone (bounded: a process outside the group may hold them).
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  for (const [name, rest] of Object.entries(partials)) if (rest) emit(name, rest);
  await new Promise<void>((resolve) => output.end(resolve));
  const took = `${((performance.now() - started) / 1000).toFixed(1)} s`;
  const ending = tail.length > 0 ? `; its output ends:\n${tail.join('\n')}` : '; it printed nothing';

  if (timedOut) throw new ClusterError(`the runbook did not finish within its budget of ${Math.round(options.budgetMs / 1000)} s and was stopped (its whole process group)${ending}`);
  if (ended.exitCode !== 0) throw new ClusterError(`the runbook failed (${ended.exitCode === null ? `killed by ${ended.signal}` : `exit ${ended.exitCode}`}) after ${took}${ending}`);
  if (!existsSync(resultFile)) {
    throw new ClusterError(`the runbook exited 0 after ${took}, but no primary accepts writes: it named none (write {"primary": "<node>"} to $FAULTLINE_RESULT)${ending}`);
  }
  let named: string;
  try {
    named = String((JSON.parse(readFileSync(resultFile, 'utf8')) as { primary?: unknown }).primary ?? '');
  } catch (error) {
    throw new ClusterError(`the runbook's answer in ${resultFile} is not JSON: ${describeError(error)}; write {"primary": "<node>"}`);
  }
  const node = cluster.nodes.find((n) => n.name === named);
  if (!node || node.lost) {
    throw new ClusterError(`the runbook exited 0 and named '${named}' as the primary, but no primary accepts writes: ${node ? `'${named}' was lost` : `there is no node '${named}' (nodes: ${cluster.nodes.filter((n) => !n.lost).map((n) => n.name).join(', ')})`}`);
  }
  await waitFor({ what: `${named}, named by the runbook, to accept writes`, timeoutMs: READY_MS, intervalMs: 250 }, async (seen) => {
    const { accepts, state } = await runbooks.acceptsWrites(node);
    seen(state);
    return accepts ? true : undefined;
  }).catch((error: unknown) => {
    throw new ClusterError(`the runbook exited 0 and named '${named}', but no primary accepts writes: ${describeError(error)}`);
  });
  cluster.setPrimary(node);
  return `the runbook made ${named} the primary in ${took}`;
}
