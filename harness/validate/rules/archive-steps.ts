// An archive_command (and the scripts it runs) read into the simple commands that run, for the
// archive rules: which program, with which words and redirections, after which operator, inside
// which blocks, on which host, from which script line. Built on the engine's shell reader
// (simpleCommands), with what it leaves to its callers done here: `if … then … fi` and `{ … }`
// blocks, `!`, wrappers (env, exec, timeout, sudo…), `bash -c '…'`, `ssh host '…'` (read as
// commands on that host) and scripts whose text the user gave (`$1`, `$2` standing for the
// arguments the command passes, usually %p and %f). The text itself is prepared in
// archive-shell-text.ts, words expanded in archive-expand.ts. Pure: no I/O.

import { program, simpleCommands } from '../../engines/postgres/index.ts';
import { ASSIGNMENT, expand, unwrap } from './archive-expand.ts';
import { LINE, prepare, REDIRECT } from './archive-shell-text.ts';

/** A block a step is inside (if, a loop, a `{ … }` or `( … )` group, case) and the part of it. */
export interface Block {
  id: number;
  kind: 'if' | 'loop' | 'group' | 'case';
  part: 'cond' | 'then' | 'else' | 'body';
}

export interface Redirection {
  fd: string;
  op: string;
  target: string;
}

/** A host a command runs on or copies to, as ssh, scp and rsync name it. */
export interface Host {
  user?: string;
  host: string;
}

/** One simple command as it runs, from its program on. */
export interface Step {
  /** From the program on, expansions of $1, $2 and the script's variables resolved. */
  words: string[];
  /** The words as written (quotes removed), for messages. */
  shown: string;
  redirects: Redirection[];
  /** The operator before it: '', ';', '&&', '||', '|', '&'. */
  after: string;
  /** Enclosing blocks, outermost first, with the part of each this step is in. */
  blocks: Block[];
  /** Preceded by `!`. */
  negated: boolean;
  /** Runs on this host (inside `ssh host '…'`), else on the server. */
  remote?: Host;
  /** The script it is in (absolute path) and its line there; no file for archive_command itself. */
  file?: string;
  line?: number;
}

interface Context {
  args: string[];
  vars: Map<string, string>;
  scripts: Record<string, string>;
  remote?: Host;
  file?: string;
  depth: number;
  blocks: Block[];
  ids: { next: number };
  /** Inside `bash -c '…'` or `ssh host '…'`: the line of the command that runs it. */
  line?: number;
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ksh', 'zsh']);
const SSH_VALUES = /^-[BbcDEeFIiJLlmOopQRSWw]$/;

/** Reads a text (archive_command, a `-c` string, a remote command, a script) into steps. */
function read(text: string, context: Context, after: string, steps: Step[]): void {
  const raw = simpleCommands(prepare(text));
  let line = 1;
  let pendingAfter: string | undefined;
  let first = true;
  const stack = context.blocks;
  for (const command of raw) {
    let words = [...command.words];
    while (words[0]?.startsWith(LINE)) line = Number(words.shift()!.slice(1));
    words = words.filter((w) => !w.startsWith(LINE));
    let op = first ? after : command.after;
    if (pendingAfter !== undefined && (op === ';' || op === '')) op = pendingAfter;
    pendingAfter = undefined;
    let negated = false;
    let opened = false;
    let stop = false;
    while (words.length > 0 && !stop) {
      const w = words[0]!;
      const top = stack.at(-1);
      if (w === 'if' || w === 'while' || w === 'until') stack.push({ id: context.ids.next++, kind: w === 'if' ? 'if' : 'loop', part: 'cond' });
      else if (w === 'elif' && top) top.part = 'cond';
      else if (w === 'then' && top) top.part = 'then';
      else if (w === 'else' && top) top.part = 'else';
      else if (w === 'do' && top) top.part = 'body';
      else if ((w === 'fi' || w === 'done' || w === 'esac') && top) stack.pop();
      else if (w === '{' || w === '(') {
        stack.push({ id: context.ids.next++, kind: 'group', part: 'body' });
        opened = true;
      } else if ((w === '}' || w === ')') && top?.kind === 'group') stack.pop();
      else if (w === '!') negated = !negated;
      else if (w === 'for' || w === 'case' || w === 'select') {
        // The head of a loop or case: nothing runs there that copies.
        stack.push({ id: context.ids.next++, kind: w === 'case' ? 'case' : 'loop', part: 'body' });
        words = [];
        break;
      } else stop = true;
      if (!stop) words.shift();
    }
    let closes = 0;
    while (words.length > 0 && (words.at(-1) === ')' || words.at(-1) === '}')) {
      words.pop();
      closes++;
    }
    // Redirections out of the words.
    const redirects: Redirection[] = [];
    const plain: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w.startsWith(REDIRECT)) {
        const [, fd, op] = /^.(\d+)(.*)$/.exec(w) ?? [];
        redirects.push({ fd: fd ?? '1', op: (op ?? '>').replace('!', '|'), target: expand(words[i + 1] ?? '', context) });
        i++;
      } else plain.push(w);
    }
    const blocks = stack.map((b) => ({ ...b }));
    if (plain.length === 0) {
      if (opened) pendingAfter = op;
      else if (redirects.length > 0) steps.push({ words: [], shown: '', redirects, after: op, blocks, negated, ...where(context, line) });
      for (let i = 0; i < closes; i++) if (stack.at(-1)?.kind === 'group') stack.pop();
      if (!opened && op !== '' && op !== ';') pendingAfter = op;
      first = false;
      continue;
    }
    first = false;
    // Assignments alone set a variable of the script.
    if (plain.every((w) => ASSIGNMENT.test(w)) || (/^(export|local|readonly|declare)$/.test(plain[0]!) && plain.slice(1).every((w) => ASSIGNMENT.test(w) || w.startsWith('-')))) {
      for (const w of plain.filter((w) => ASSIGNMENT.test(w))) {
        const at = w.indexOf('=');
        context.vars.set(w.slice(0, at), expand(w.slice(at + 1), context));
      }
      steps.push({ words: [], shown: plain.join(' '), redirects, after: op, blocks, negated, ...where(context, line) });
      for (let i = 0; i < closes; i++) if (stack.at(-1)?.kind === 'group') stack.pop();
      continue;
    }
    let shownWords = plain;
    while (shownWords.length > 0 && ASSIGNMENT.test(shownWords[0]!)) shownWords = shownWords.slice(1);
    shownWords = unwrap(shownWords);
    const expanded = shownWords.map((w) => expand(w, context));
    const name = program({ words: expanded, after: op });
    const nested = (inner: string, args: string[], overrides: Partial<Context>) => {
      if (context.depth >= 4) return;
      read(inner, { ...context, args, vars: new Map(context.vars), depth: context.depth + 1, blocks: stack, line: context.line ?? line, ...overrides }, op, steps);
    };
    const dashC = expanded.findIndex((w, i) => i > 0 && /^-[a-zA-Z]*c[a-zA-Z]*$/.test(w));
    if (SHELLS.has(name) && dashC > 0 && expanded[dashC + 1] !== undefined) {
      // bash -c 'text' $0 $1 …
      nested(shownWords[dashC + 1]!, expanded.slice(dashC + 2), {});
    } else if ((name === 'su' || name === 'runuser') && dashC > 0 && expanded[dashC + 1] !== undefined) {
      nested(shownWords[dashC + 1]!, context.args, {});
    } else if (name === 'ssh') {
      let i = 1;
      while (i < expanded.length && expanded[i]!.startsWith('-')) i += SSH_VALUES.test(expanded[i]!) ? 2 : 1;
      const target = expanded[i];
      if (target !== undefined && i + 1 < expanded.length) {
        const at = target.indexOf('@');
        const host: Host = at >= 0 ? { user: target.slice(0, at), host: target.slice(at + 1) } : { host: target };
        // ssh joins its arguments with blanks and the remote shell reads them again; its input
        // (`< %p`) is what the remote command reads.
        const before = steps.length;
        nested(shownWords.slice(i + 1).join(' '), context.args, { remote: host });
        if (steps.length > before) steps[before]!.redirects.push(...redirects.filter((r) => r.op.startsWith('<')));
      } else {
        steps.push({ words: expanded, shown: shownWords.join(' '), redirects, after: op, blocks, negated, ...where(context, line) });
      }
    } else {
      // A script the user gave, run directly or by a shell: read its text with its arguments.
      const viaShell = SHELLS.has(name) && expanded[1] !== undefined && !expanded[1].startsWith('-');
      const path = viaShell ? expanded[1]! : expanded[0]!;
      const script = path.startsWith('/') ? context.scripts[path] : undefined;
      if (script !== undefined && !context.remote) {
        const args = [path, ...expanded.slice(viaShell ? 2 : 1)];
        if (args.length < 3) args.push(...['%p', '%f'].slice(args.length - 1));
        nested(script, args, { file: path, vars: new Map(), line: undefined });
      } else {
        steps.push({ words: expanded, shown: shownWords.join(' '), redirects, after: op, blocks, negated, ...where(context, line) });
      }
    }
    for (let i = 0; i < closes; i++) if (stack.at(-1)?.kind === 'group') stack.pop();
  }
}

function where(context: Context, line: number): Pick<Step, 'remote' | 'file' | 'line'> {
  return { ...(context.remote ? { remote: context.remote } : {}), ...(context.file ? { file: context.file, line: context.line ?? line } : {}) };
}

/** The steps of an archive_command, with the scripts it runs (the ones the user gave) read in place. */
export function readSteps(command: string, scripts: Record<string, string> = {}): Step[] {
  const steps: Step[] = [];
  read(command, { args: [], vars: new Map(), scripts, depth: 0, blocks: [], ids: { next: 0 } }, '', steps);
  return steps;
}
