// 'faultline faults': the fault catalog — what each fault does, what it mirrors, its targets and
// its parameters.

import { faults } from '../faults/index.ts';
import { engines } from '../engines/registry.ts';
import { parse, type Command } from './options.ts';

export const usage = 'faultline faults\n\nThe fault catalog: what each fault does, what it mirrors, its targets and parameters.';

export const command: Command = async (args) => {
  parse(args, {}, 'faults');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  for (const f of faults) {
    out(`${f.name}  (targets: ${f.targets.join(', ')}${f.roles ? ` (${f.roles.join(' or ')})` : ''}${f.healable ? '; healed after its duration' : '; permanent'}${f.disruptive ? '; disruptive' : ''})`);
    out(`    ${f.description}`);
    out(`    mirrors: ${f.mirrors}`);
    for (const [name, p] of Object.entries(f.params)) {
      out(`    --${name}: ${p.description}${p.choices ? ` (${p.choices.join('|')})` : ''}${p.default !== undefined ? `, default ${p.default}` : ''}`);
    }
  }
  // What the engine-neutral faults mean per engine (silent-corruption's kinds).
  out('');
  out('Corruption kinds (silent-corruption --kind), by engine, the first the default:');
  for (const engine of engines) out(`    ${engine.label}: ${engine.corruptionKinds.join(', ')}`);
  return 0;
};
