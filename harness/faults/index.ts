// Faults: one module per fault, the catalog, and target resolution.
export * from './types.ts';
export { faults, findFault, faultfsFor } from './catalog.ts';
export { checkTarget, resolveTarget, namesRole, targetKind } from './targets.ts';
export { settleVolumes } from './faultfs.ts';
