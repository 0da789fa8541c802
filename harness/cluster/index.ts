// Clusters: the topology model and the backends that make it real.
export * from './topology.ts';
export * from './docker/index.ts';
export * from './postgres/index.ts';
