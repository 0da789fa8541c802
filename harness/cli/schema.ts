// 'faultline schema': the JSON Schema of topology files, for editors to complete and check them.

import { topologyJsonSchema } from '../engines/registry.ts';
import { parse, type Command } from './options.ts';

export const usage = 'faultline schema\n\nPrints the JSON Schema of topology files, for editors to complete and check them.';

export const command: Command = async (args) => {
  parse(args, {}, 'schema');
  process.stdout.write(`${JSON.stringify(topologyJsonSchema(), null, 2)}\n`);
  return 0;
};
