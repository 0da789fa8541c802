// junit.xml: one test case per check, so CI systems show each verdict. A check that is unknown is a
// failure too (unknown is never a pass); a skipped check (not applicable, or a measure without a
// budget) is a skipped test case with its reason.

import type { ExperimentResult } from '../experiment/result.ts';

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function toJUnit(results: ExperimentResult[]): string {
  const suites = results.map((result) => {
    const cases = result.checks.map((check) => {
      const body =
        check.valid === true
          ? ''
          : check.valid === 'skipped'
            ? `\n      <skipped message="${escape(check.summary)}"/>\n    `
            : `\n      <failure type="${check.valid === false ? 'failed' : 'unknown'}" message="${escape(check.summary)}">${escape(JSON.stringify(check.details, null, 2))}</failure>\n    `;
      return `    <testcase classname="faultline.${escape(result.experiment)}" name="${escape(check.name)}">${body}</testcase>`;
    });
    if (result.error) {
      cases.push(`    <testcase classname="faultline.${escape(result.experiment)}" name="run"><error message="${escape(result.error)}"/></testcase>`);
    }
    const failures = result.checks.filter((c) => c.valid === false || c.valid === 'unknown').length;
    const skipped = result.checks.filter((c) => c.valid === 'skipped').length;
    return (
      `  <testsuite name="${escape(result.experiment)}" tests="${cases.length}" failures="${failures}" errors="${result.error ? 1 : 0}" skipped="${skipped}" ` +
      `time="${(result.timings.totalMs / 1000).toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`
    );
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="faultline">\n${suites.join('\n')}\n</testsuites>\n`;
}
