// Guards against overwriting: whether something before a copy (a test of the file's existence
// with &&, ||, if, exit) stops it from writing over a file already archived. Pure: no I/O.

import { program } from '../../engines/postgres/index.ts';
import { locate, normal, sameHost, type Copy } from './archive-copies.ts';
import type { Block, Step } from './archive-steps.ts';

/** `test ! -f P`, `[ -e P ]`, `[[ ! -s P ]]`, `! test -f P`: the path, and whether it succeeds when the file is absent. */
function existenceTest(step: Step): { path: string; absent: boolean } | undefined {
  const name = program(step);
  if (name !== 'test' && name !== '[' && name !== '[[') return undefined;
  let words = step.words.slice(1);
  if (name === '[' && words.at(-1) === ']') words = words.slice(0, -1);
  if (name === '[[' && words.at(-1) === ']]') words = words.slice(0, -1);
  let absent = step.negated;
  if (words[0] === '!') {
    absent = !absent;
    words = words.slice(1);
  }
  if (words.length !== 2 || !/^-[efsahLr]$/.test(words[0]!)) return undefined;
  return { path: words[1]!, absent };
}

/** exit or return: the rest of the command does not run. */
function stops(step: Step): boolean {
  const name = program(step);
  return name === 'exit' || name === 'return';
}

function innermost(step: Step, kind: Block['kind'], part?: Block['part']): Block | undefined {
  return [...step.blocks].reverse().find((b) => b.kind === kind && (part === undefined || b.part === part));
}

function inBlock(step: Step, id: number, part?: Block['part']): boolean {
  return step.blocks.some((b) => b.id === id && (part === undefined || b.part === part));
}

/** The steps that run as `op`'s consequence of step g: the next step, or the whole group it opens, or the && chain it starts. */
function consequence(steps: Step[], g: number, op: '&&' | '||'): number[] {
  const next = steps[g + 1];
  if (!next || next.after !== op) return [];
  const opened = next.blocks.find((b) => b.kind === 'group' && !steps[g]!.blocks.some((o) => o.id === b.id));
  const out = [g + 1];
  for (let i = g + 2; i < steps.length; i++) {
    const s = steps[i]!;
    if (opened ? inBlock(s, opened.id) : s.after === '&&' || s.after === '|') out.push(i);
    else break;
  }
  return out;
}

/** Steps a+1 … c all run only when the one before succeeded. */
function andChain(steps: Step[], a: number, c: number): boolean {
  for (let i = a + 1; i <= c; i++) if (steps[i]!.after !== '&&' && steps[i]!.after !== '|') return false;
  return c > a;
}

/** Whether something before the copy stops it from writing over an existing file. */
export function guarded(steps: Step[], copy: Copy): boolean {
  if (copy.refusesExisting) return true;
  const c = copy.step;
  for (let g = 0; g < c; g++) {
    const step = steps[g]!;
    const test = existenceTest(step);
    if (!test || !sameHost(step.remote, copy.remote)) continue;
    const path = normal(test.path);
    if (path !== normal(copy.file) && path !== normal(locate(copy.dest, steps[c]!).path)) continue;
    const ifBlock = innermost(step, 'if', 'cond');
    if (test.absent) {
      if (andChain(steps, g, c)) return true;
      if (ifBlock && inBlock(steps[c]!, ifBlock.id, 'then')) return true;
      const orElse = consequence(steps, g, '||');
      if (orElse.some((i) => stops(steps[i]!)) && c > orElse.at(-1)!) return true;
    } else {
      if (steps[g + 1]?.after === '||' && (c === g + 1 || andChain(steps, g + 1, c))) return true;
      const andThen = consequence(steps, g, '&&');
      if (andThen.some((i) => stops(steps[i]!)) && c > andThen.at(-1)!) return true;
      if (ifBlock) {
        if (inBlock(steps[c]!, ifBlock.id, 'else')) return true;
        const then = steps.filter((s) => inBlock(s, ifBlock.id, 'then'));
        if (then.some(stops) && !inBlock(steps[c]!, ifBlock.id)) return true;
      }
    }
  }
  return false;
}
