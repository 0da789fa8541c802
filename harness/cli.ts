#!/usr/bin/env node
// The command line for developers (`node harness/cli.ts …`) and for tests (its exports); the
// commands are in harness/cli/. Installed copies start at harness/bin.ts, which checks Node.js first.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { start } from './cli/main.ts';

export { main } from './cli/main.ts';
export { parseSeed } from './cli/options.ts';
export { selectExperiments } from './cli/select.ts';

// Run when executed, not when imported by tests.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await start(process.argv.slice(2));
