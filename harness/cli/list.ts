// 'faultline list': the shipped experiments, one line each, grouped by engine (or as JSON).

import { experiments } from '../../experiments/index.ts';
import { engines, validateTopology } from '../engines/registry.ts';
import { parse, type Command } from './options.ts';

export const usage = 'faultline list [--json]\n\nThe shipped experiments, one line each, grouped by engine (PostgreSQL, Redis). --json prints name, engine and description of each.';

export const command: Command = async (args) => {
  const { values } = parse(args, { json: { type: 'boolean' } }, 'list');
  const rows = experiments.map((e) => ({ name: e.name, engine: validateTopology(e.topology).engine, description: e.description }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(...rows.map((e) => e.name.length));
  for (const engine of engines) {
    const mine = rows.filter((r) => r.engine === engine.name);
    if (mine.length === 0) continue;
    process.stdout.write(`${engine.label}\n`);
    for (const e of mine) process.stdout.write(`  ${e.name.padEnd(width)}  ${e.description}\n`);
  }
  return 0;
};
