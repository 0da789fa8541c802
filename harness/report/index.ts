// Reports of a run: result.json, junit.xml and the terminal summary.
export { toJUnit } from './junit.ts';
export { formatSummary, formatComparison } from './summary.ts';
export { writeRunFiles } from './files.ts';
export { renderHtml } from './html.ts';
