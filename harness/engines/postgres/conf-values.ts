// Setting values as PostgreSQL reads them: memory and time with their units, and booleans.

const MEMORY_UNITS: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A memory setting in bytes ('1GB', '512kB'; a bare number is in `baseUnit`, e.g. 'kB' for wal_keep_size's MB). */
export function parseMemory(value: string, baseUnit: keyof typeof MEMORY_UNITS = 'B'): number | undefined {
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!match) return undefined;
  const factor = match[2] ? MEMORY_UNITS[match[2]] : MEMORY_UNITS[baseUnit];
  return factor === undefined ? undefined : Number(match[1]) * factor;
}

/** A time setting in milliseconds ('200ms', '1min'; a bare number is in `baseUnit`). */
export function parseTime(value: string, baseUnit: keyof typeof TIME_UNITS = 'ms'): number | undefined {
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!match) return undefined;
  const factor = match[2] ? TIME_UNITS[match[2]] : TIME_UNITS[baseUnit];
  return factor === undefined ? undefined : Number(match[1]) * factor;
}

/** A boolean as PostgreSQL reads it (on/off, true/false, yes/no, 1/0, and their unique prefixes). */
export function parseBoolean(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (['on', 'true', 'yes', '1', 't', 'y', 'tr', 'tru', 'ye'].includes(v)) return true;
  if (['off', 'false', 'no', '0', 'f', 'n', 'fa', 'fal', 'fals', 'of'].includes(v)) return false;
  return undefined;
}
