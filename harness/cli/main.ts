// The command line's dispatcher: the command table, --help and --version, errors turned into
// messages and exit codes, and the orderly exit once a command is done.

import { interruptInProgress } from '../cluster/docker/index.ts';
import { FaultlineError, UsageError } from '../errors.ts';
import { PACKAGE_VERSION } from '../package-root.ts';
import { didYouMean } from '../schema.ts';
import * as doctor from './doctor.ts';
import * as faults from './faults.ts';
import * as help from './help.ts';
import * as image from './image.ts';
import * as list from './list.ts';
import * as proveBackup from './prove-backup.ts';
import type { Command } from './options.ts';
import * as rehearse from './rehearse.ts';
import * as report from './report.ts';
import * as run from './run.ts';
import * as schema from './schema.ts';
import * as up from './up.ts';
import * as validate from './validate.ts';

/** `faultline <command> --help`: what each command does and takes (the text lives beside each command). */
const USAGE: Record<string, string> = {
  list: list.usage,
  run: run.usage,
  report: report.usage,
  validate: validate.usage,
  rehearse: rehearse.usage,
  'prove-backup': proveBackup.usage,
  faults: faults.usage,
  schema: schema.usage,
  up: up.usage,
  image: image.usage,
  doctor: doctor.usage,
  help: help.usage,
};

// In this order in 'Unknown command' messages.
const commands: Record<string, Command> = {
  faults: faults.command,
  schema: schema.command,
  list: list.command,
  run: run.command,
  validate: validate.command,
  rehearse: rehearse.command,
  'prove-backup': proveBackup.command,
  report: report.command,
  up: up.command,
  image: image.command,
  doctor: doctor.command,
  help: help.helpCommand(USAGE),
};

// Exit codes (docs/architecture.md): 0 every check held; 1 a check failed; 2 usage or configuration
// error; 3 environment error (no Docker engine, image build failed) or a run that broke (faultline's
// own failure: nothing shown either way).
export async function main(argv: string[]): Promise<number> {
  // A reader that went away (`faultline faults | head`) is not an error worth a crash; and a run
  // must never die on it before it cleaned up.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') return commands.help!([]);
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${PACKAGE_VERSION}\n`);
    return 0;
  }
  const command = commands[name];
  try {
    if (!command) {
      const guess = didYouMean(name, Object.keys(commands));
      throw new UsageError(`Unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}. Commands: ${Object.keys(commands).join(', ')} ('faultline help' describes them).`);
    }
    if (rest.includes('--help') || rest.includes('-h')) return await commands.help!([name]);
    return await command(rest);
  } catch (error) {
    if (error instanceof FaultlineError) {
      process.stderr.write(`faultline: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`faultline: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 3;
  }
}

/** Runs the command line and exits with its code: what the entries (harness/cli.ts, harness/bin.ts) call. */
export async function start(argv: string[]): Promise<void> {
  const code = await main(argv);
  // A signal's clean-up is still removing the runs (a run that ended by its interrupt returns
  // here first): its handler exits when it is done, with the signal's code. Never exit before.
  if (interruptInProgress()) {
    setInterval(() => {}, 1 << 30);
    await new Promise(() => {});
  }
  // Every result is written and every cluster removed by now. A handle a driver left open (a
  // connection still being attempted when the workload stopped) must not keep the command from
  // exiting: it once held 'faultline run sidekick' open after both runs had ended. Output to a
  // pipe is written asynchronously: exit only once stdout and stderr have taken everything, or a
  // large --json result is cut short.
  process.exitCode = code;
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  process.exit(code);
}
