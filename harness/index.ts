// faultline's public API, for users' own test suites and scripts.
export * from './errors.ts';
export * from './cluster/index.ts';
export { parseSize, parseDuration } from './units.ts';
