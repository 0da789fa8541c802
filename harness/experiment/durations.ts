// Durations as experiments write them ('500ms', '10s', '2m', or milliseconds), checked with the key they came from.

import { ConfigError } from '../errors.ts';
import { parseDuration } from '../units.ts';

/** `value` in milliseconds, `fallback` when not given; a ConfigError naming `what` when it is not a duration. */
export function duration(value: string | number | undefined, fallback: number | undefined, what: string): number | undefined {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConfigError(`${what} must be a duration like '500ms', '10s' or '2m': got ${JSON.stringify(value)}`);
  return ms;
}
