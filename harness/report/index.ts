// Reports of a run: result.json (built from the history and final state), junit.xml, report.html, the terminal summary, and re-checking a run from its files.
export { toJUnit } from './junit.ts';
export { formatSummary, formatComparison } from './summary.ts';
export { writeRunFiles } from './files.ts';
export { renderHtml } from './html.ts';
export { buildResult, exitCodeOf, RESULT_SCHEMA_VERSION, type ExperimentResult, type Verdict } from './result.ts';
export { recheckRun, type Recheck } from './recheck.ts';
export { createRunDir, resolveRunDir } from './run-dir.ts';
