// Clusters: the topology model and the backends that make it real.
export * from './topology.ts';
export * from './docker/index.ts';
export * from '../engines/postgres/index.ts';
export * from '../engines/redis/index.ts';
export { VOLUME_MOUNT, type ClusterNode, type Engine, type EngineName, type StartedCluster, type Workload, type WorkloadOptions, type WorkloadStats, type Corruption } from './engine.ts';
export { engineFor, engines } from '../engines/registry.ts';
