// Campaigns: many (experiment, seed) pairs, in parallel on one machine, sharded over CI runners, merged into one report.
export { parseSeeds, parseShard, campaignPairs, shardPairs, comparePairs, pairKey, MAX_PAIRS, type Pair } from './plan.ts';
export { summarize, entryOf, replayCommand, formatCampaign, campaignExitCode, CAMPAIGN_SCHEMA_VERSION, type CampaignEntry, type CampaignSummary, type ExperimentRate } from './summary.ts';
export { loadCampaignFolders, writeCampaignFiles, renderCampaignHtml, CAMPAIGN_FILE, type LoadedRun } from './merge.ts';
export { runCampaign, defaultParallel, MEMORY_PER_CLUSTER, type PlannedRun, type CampaignOptions } from './run.ts';
