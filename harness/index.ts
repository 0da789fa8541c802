// faultline's public API, for users' own test suites and scripts.
export * from './errors.ts';
export * from './cluster/index.ts';
export * from './engines/index.ts';
export { parseSize, parseDuration } from './units.ts';
export { seededRandom, type Random } from './random.ts';
export * from './experiment/index.ts';
export * from './history/index.ts';
export * from './checkers/index.ts';
export * from './workload/index.ts';
export * from './faults/index.ts';
export { formatSummary, toJUnit } from './report/index.ts';
export { runCampaign, defaultParallel, parseSeeds, parseShard, campaignPairs, shardPairs, summarize, formatCampaign, loadCampaignFolders, writeCampaignFiles, type PlannedRun, type CampaignSummary, type CampaignEntry, type Pair } from './campaign/index.ts';
