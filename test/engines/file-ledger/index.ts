// A third engine, written for the tests and registered from them (registerEngine): the proof that
// an engine is one folder behind the core's interfaces. It is not shipped in the registry.
export { fileLedgerEngine } from './engine.ts';
export { ledgerTopologySection, type LedgerTopology } from './topology.ts';
