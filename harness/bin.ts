#!/usr/bin/env node
// The installed `faultline` command: checks the Node.js version before it loads anything, so an old
// Node.js hears what to install instead of dying inside an import. The command line is in harness/cli/.

// Only plain syntax and no static import here: an old Node.js must parse and run this file to the
// check. Keep the version in step with "engines" in package.json.
const needed = { major: 22, minor: 22 };
const running = process.versions.node;
const [major, minor] = running.split('.').map((part) => parseInt(part, 10));
if (!(major! > needed.major || (major === needed.major && minor! >= needed.minor))) {
  process.stderr.write(
    `faultline needs Node.js ${needed.major}.${needed.minor} or newer; this is Node.js ${running}. ` +
      `Install Node.js ${needed.major}.${needed.minor} or newer (https://nodejs.org/en/download, or 'nvm install ${needed.major}') and run faultline again.\n`,
  );
  process.exit(3);
}
import('./cli/main.ts').then((cli) => cli.start(process.argv.slice(2)));
