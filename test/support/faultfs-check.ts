// Runs faultfs's model check for real: a node container mounts faultfs over a plain directory with
// lost-writes on, faultfs-exec runs a program there (forked processes, concurrent phases, power
// losses through the control socket), and every line it prints is compared with the model's.
// Shared by test/integration/faultfs-model.test.ts and bench/faultfs-model.ts.

import type { StartedTestContainer } from 'testcontainers';
import { ensureImage, getEngine, removeRunResources } from '../../harness/cluster/docker/index.ts';
import { newRunId, runLabels } from '../../harness/cluster/docker/labels.ts';
import { NodeContainer } from '../../harness/cluster/docker/node-container.ts';
import { describeExpected, expectations, matches, type Expected, type Op, type OpenFlags, type Step } from './faultfs-model.ts';

const LOWER = '/lower';
const MOUNT = '/mnt/ff';
const SOCKET = '/run/faultfs-model.sock';
const RUN_DIR = `${MOUNT}/run`;

/** A node container with faultfs mounted; each program runs in a fresh directory on it. */
export interface FaultfsNode extends AsyncDisposable {
  readonly runId: string;
  /** Runs a program with lost-writes on; returns faultfs-exec's output lines. */
  run(steps: Step[]): Promise<string[]>;
  /** Runs a shell script in the container (for diagnostics). */
  sh(script: string): Promise<string>;
}

export async function startFaultfsNode(options: { runId?: string; log?: (line: string) => void } = {}): Promise<FaultfsNode> {
  const runId = options.runId ?? newRunId();
  const engine = await getEngine();
  const image = await ensureImage(undefined, options.log ? { log: options.log } : {});
  let container: StartedTestContainer | undefined;
  try {
    const node = new NodeContainer(image).withFuse().withAddedCapabilities('SYS_ADMIN').withLabels(runLabels(runId)).withEntrypoint(['sleep', 'infinity']);
    if (engine.appArmor) node.withSecurityOpt('apparmor=unconfined');
    container = await node.start();
    const started = container;
    const sh = async (script: string, ...args: string[]) => {
      const result = await started.exec(['sh', '-c', script, 'sh', ...args]);
      if (result.exitCode !== 0) throw new Error(`'${script}' exited ${result.exitCode} in the faultfs node: ${result.stderr || result.stdout}`);
      return result.stdout;
    };
    await sh(`mkdir -p ${LOWER} ${MOUNT} && faultfs ${LOWER} ${MOUNT} -o ctl=${SOCKET} && mountpoint -q ${MOUNT}`);
    const ctl = `faultfs-ctl ${SOCKET}`;
    // lost-writes off first: it writes out and forgets whatever an earlier program left
    const prepare =
      `${ctl} lost-writes off >/dev/null && ${ctl} reset >/dev/null && rm -rf ${RUN_DIR} && mkdir ${RUN_DIR} && sync ${RUN_DIR} ${MOUNT} && ` +
      `${ctl} lost-writes on >/dev/null`;
    return {
      runId,
      async run(steps) {
        // bounded: a faultfs that stops answering is a finding, not a test that hangs
        const out = await sh(`timeout -s KILL 120 sh -c '${prepare} && printf "%s" "$1" | faultfs-exec -C ${RUN_DIR} -c ${SOCKET} -t 20' sh "$1"`, script(steps));
        return out.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1);
      },
      sh: (text) => sh(text),
      async [Symbol.asyncDispose]() {
        await sh(`umount ${MOUNT}`).catch(() => {});
        await started.stop().catch(() => {});
        await removeRunResources(engine, runId);
      },
    };
  } catch (error) {
    await container?.stop().catch(() => {});
    await removeRunResources(engine, runId).catch(() => {});
    throw error;
  }
}

function flagsText(flags: Extract<Op, { op: 'open' }>['flags']): string {
  return [flags.access, ...(['creat', 'trunc', 'excl', 'append', 'direct', 'dsync'] as const).filter((f) => flags[f])].join(',');
}

/** One operation as faultfs-exec reads it. */
export function opLine(op: Op): string {
  const p = op.proc;
  switch (op.op) {
    case 'open':
      return `${p} open ${op.slot} ${op.path} ${flagsText(op.flags)}`;
    case 'close':
    case 'fsync':
    case 'fdatasync':
    case 'fstat':
      return `${p} ${op.op} ${op.slot}`;
    case 'pwrite':
      return `${p} pwrite ${op.slot} ${op.off} ${op.len} ${op.seed}`;
    case 'pread':
      return `${p} pread ${op.slot} ${op.off} ${op.len}`;
    case 'ftruncate':
      return `${p} ftruncate ${op.slot} ${op.size}`;
    case 'fallocate':
      return `${p} fallocate ${op.slot} ${op.keepSize ? 'keep' : '0'} ${op.off} ${op.len}`;
    case 'rename':
      return `${p} rename ${op.from} ${op.to}`;
    default:
      return `${p} ${op.op} ${op.path}`;
  }
}

/** A whole program as faultfs-exec's input. */
export function script(steps: Step[]): string {
  return steps.map((step) => ('ctl' in step ? `ctl ${step.ctl}` : 'batch' in step ? ['batch', ...step.batch.map(opLine), 'end'].join('\n') : opLine(step))).join('\n') + '\n';
}

/** The inverse of script(): a program written as faultfs-exec's input (regression cases are kept so). */
export function parseScript(text: string): Step[] {
  const steps: Step[] = [];
  let batch: Op[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line === 'batch') batch = [];
    else if (line === 'end') {
      steps.push({ batch: batch ?? [] });
      batch = undefined;
    } else if (line === 'ctl power-loss' || line === 'ctl reset') steps.push({ ctl: line.slice(4) as 'power-loss' | 'reset' });
    else (batch ?? steps).push(parseOp(line) as Op & Step);
  }
  return steps;
}

function parseOp(line: string): Op {
  const [p, op, ...args] = line.split(/\s+/);
  const proc = Number(p);
  const n = (i: number) => Number(args[i]);
  switch (op) {
    case 'open': {
      const words = args[2]!.split(',');
      const flags: OpenFlags = { access: words[0] as OpenFlags['access'] };
      for (const word of words.slice(1)) flags[word as Exclude<keyof OpenFlags, 'access'>] = true;
      return { op, proc, slot: n(0), path: args[1]!, flags };
    }
    case 'close':
    case 'fsync':
    case 'fdatasync':
    case 'fstat':
      return { op, proc, slot: n(0) };
    case 'pwrite':
      return { op, proc, slot: n(0), off: n(1), len: n(2), seed: n(3) };
    case 'pread':
      return { op, proc, slot: n(0), off: n(1), len: n(2) };
    case 'ftruncate':
      return { op, proc, slot: n(0), size: n(1) };
    case 'fallocate':
      return { op, proc, slot: n(0), keepSize: args[1] === 'keep', off: n(2), len: n(3) };
    case 'rename':
      return { op, proc, from: args[0]!, to: args[1]! };
    case 'stat':
    case 'unlink':
    case 'mkdir':
    case 'rmdir':
    case 'fsyncdir':
      return { op, proc, path: args[0]! };
    default:
      throw new Error(`Not a faultfs-exec operation: '${line}'`);
  }
}

/** The input lines that print a result, in order (a batch's operations, not its markers). */
function resultLines(steps: Step[]): string[] {
  return steps.flatMap((step) => ('ctl' in step ? [`ctl ${step.ctl}`] : 'batch' in step ? step.batch.map((op) => `${opLine(op)}   [concurrent]`) : [opLine(step)]));
}

export interface Verdict {
  /** Operations (and control commands) run and compared. */
  operations: number;
  /** The first line that differs from the model, with the program around it. */
  mismatch?: string;
}

/** Runs a program on the node and compares every printed line with the model. */
export async function checkProgram(node: FaultfsNode, steps: Step[]): Promise<Verdict> {
  const expected = expectations(steps);
  const got = await node.run(steps);
  const first = expected.findIndex((e, i) => got[i] === undefined || !matches(e, got[i]!));
  if (first === -1 && got.length === expected.length) return { operations: expected.length };
  return { operations: expected.length, mismatch: transcript(steps, expected, got, first === -1 ? expected.length : first) };
}

/** The program with what each line printed and, at the first mismatch, what the model expected. */
export function transcript(steps: Step[], expected: Expected[], got: string[], at: number): string {
  const lines = resultLines(steps);
  const from = Math.max(0, at - 150);
  const out = [`faultfs differs from the model at operation ${at + 1} of ${lines.length}:`];
  if (from > 0) out.push(`  ... ${from} earlier operations matched`);
  for (let i = from; i <= Math.min(at, lines.length - 1); i++) {
    const mark = i === at ? '>>' : '  ';
    out.push(`${mark} ${lines[i]}  =>  ${got[i] ?? '(nothing printed)'}`);
    if (i === at) out.push(`   model expected: ${describeExpected(expected[i]!)}`);
  }
  if (at >= lines.length) out.push(`>> faultfs-exec printed ${got.length} lines for ${lines.length} operations: ${got.slice(lines.length).join(' | ')}`);
  return out.join('\n');
}
