// Just enough of the shell's grammar to read an archive_command: simple commands split at
// ; & && || | and newlines, words split at blanks, quotes and backslashes resolved. No
// expansions: the preflight rules and the settings faultline applies only need to know which
// program runs and where it copies to, and both must read a command the same way.

export interface SimpleCommand {
  words: string[];
  /** The operator before this command ('' for the first). */
  after: string;
}

export function simpleCommands(command: string): SimpleCommand[] {
  const commands: SimpleCommand[] = [];
  let words: string[] = [];
  let word: string | undefined;
  let after = '';
  const endWord = () => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endCommand = (operator: string) => {
    endWord();
    if (words.length > 0) commands.push({ words, after });
    words = [];
    after = operator;
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      const stop = end < 0 ? command.length : end;
      word = (word ?? '') + command.slice(i + 1, stop);
      i = stop;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      for (; j < command.length && command[j] !== '"'; j++) {
        if (command[j] === '\\' && j + 1 < command.length && '"\\$`'.includes(command[j + 1]!)) j++;
        text += command[j];
      }
      word = (word ?? '') + text;
      i = j;
    } else if (c === '\\' && i + 1 < command.length) {
      word = (word ?? '') + command[++i];
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === ';' || c === '\n' || c === '&' || c === '|') {
      const two = command.slice(i, i + 2);
      const operator = two === '&&' || two === '||' ? two : c === '\n' ? ';' : c;
      if (operator.length === 2) i++;
      endCommand(operator);
    } else {
      word = (word ?? '') + c;
    }
  }
  endCommand('');
  return commands;
}

/** The program a simple command runs, without its directory ('/usr/bin/cp' → 'cp'). */
export function program(command: SimpleCommand): string {
  return command.words[0]?.split('/').at(-1) ?? '';
}

/** A command that does nothing and succeeds: true, :, exit 0. */
export function succeedsAlways(command: SimpleCommand): boolean {
  const name = program(command);
  if (name === 'true' || name === ':') return true;
  // A bare `exit` returns the previous command's status, so only `exit 0` hides a failure.
  return name === 'exit' && command.words[1] === '0';
}

const COPIERS = new Set(['cp', 'rsync', 'install', 'mv', 'scp']);

/** Where each copy of an archive_command writes to: the last operand of cp, rsync, install, mv or scp. */
export function copyDestinations(command: string): string[] {
  return simpleCommands(command)
    .filter((simple) => COPIERS.has(program(simple)))
    .map((simple) => simple.words.slice(1).filter((word) => !word.startsWith('-')).at(-1))
    .filter((destination): destination is string => destination !== undefined);
}

/** A destination on another machine: host:path, user@host:path or rsync://. */
export function isRemote(destination: string): boolean {
  return /^[^/]+:/.test(destination);
}

/** An archive_command that copies nothing: empty, or one command that does nothing and succeeds. */
export function isNoOpCommand(command: string): boolean {
  const commands = simpleCommands(command);
  return commands.length === 0 || (commands.length === 1 && succeedsAlways(commands[0]!));
}

/** Whether an archive_command pushes WAL with pgBackRest. */
export function isPgBackRestCommand(command: string): boolean {
  return simpleCommands(command).some((simple) => program(simple) === 'pgbackrest' && simple.words.includes('archive-push'));
}
