// A user's own drill file, run by `faultline run ./drills/my-drill.ts`: a module whose default
// export is an experiment definition (.ts, .js, .mjs), or the same shape as JSON. Either way it is
// checked by the same strict schema before anything starts.

import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, describeError } from '../errors.ts';
import { prepareExperiment, type ExperimentDefinition } from './definition.ts';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.json'];

/** Whether a `run` argument names a drill file rather than a shipped experiment. */
export function isDrillFile(argument: string): boolean {
  return EXTENSIONS.includes(extname(argument)) || argument.includes('/');
}

/** Loads and checks a drill file; every problem is a ConfigError that names the file. */
export async function loadDrillFile(path: string): Promise<ExperimentDefinition> {
  const file = resolve(path);
  if (!existsSync(file)) throw new ConfigError(`Drill file '${path}' does not exist (looked at ${file})`);
  if (!EXTENSIONS.includes(extname(file))) throw new ConfigError(`Drill file '${path}' must end in ${EXTENSIONS.join(', ')}`);
  let definition: unknown;
  if (extname(file) === '.json') {
    try {
      definition = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`Drill file '${path}' is not valid JSON: ${describeError(error)}`);
    }
  } else {
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (error) {
      throw new ConfigError(`Drill file '${path}' could not be loaded: ${describeError(error)}`, { cause: error });
    }
    if (module.default === undefined) throw new ConfigError(`Drill file '${path}' has no default export: export default defineExperiment({ … })`);
    definition = module.default;
  }
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
    throw new ConfigError(`Drill file '${path}' must hold one experiment definition (an object with name, description, topology, …)`);
  }
  try {
    prepareExperiment(definition as ExperimentDefinition);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${path}: ${error.message}`, { cause: error });
    throw error;
  }
  return definition as ExperimentDefinition;
}
