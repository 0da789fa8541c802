// The engines: the registry, and each engine's public face.
export { engineFor, engines, registerEngine, topologyIssues, topologyJsonSchema, validateTopology, type TopologySpec } from './registry.ts';
export * from './postgres/index.ts';
export * from './redis/index.ts';
