// The Docker backend: engine, node image, per-run resources, interrupt clean-up and leak doctor.
export { getEngine, type Engine } from './engine.ts';
export { ensureImage, imageTag, baseImageTag, debianImage, DEBIAN_SUITES, type DebianSuite, type ImageRecipe } from './image.ts';
export { DockerRun, removeRunResources, domainMountPoint, FAULTFS_SOCKET, type FaultfsOptions, type LunSpec, type StartedLun, type StartedNode } from './docker-run.ts';
export { installInterruptCleanup, activeRunCount, interruptInProgress } from './interrupts.ts';
export { diagnose, type Diagnosis } from './doctor.ts';
export * from './labels.ts';
