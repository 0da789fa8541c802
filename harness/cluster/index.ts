// Clusters, whatever the engine: the topology model, the engine interface, and the Docker backend.
export * from './topology.ts';
export * from './docker/index.ts';
export { VOLUME_MOUNT, type ClusterNode, type Engine, type EngineName, type StartedCluster, type Workload, type WorkloadOptions, type WorkloadStats, type Corruption } from './engine.ts';
export { startCluster, startNodeContainer, type StartContext, type StartHooks } from './start-cluster.ts';
