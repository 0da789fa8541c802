// junit.xml: one testsuite per experiment and one test case per check, so CI systems show each
// verdict. A check that is unknown is a failure too (unknown is never a pass); a skipped check (not
// applicable, or a measure without a budget) is a skipped test case with its reason. Each suite
// carries the seed, run id and versions as properties; failure bodies are capped, so a run that
// lost 10,000 writes gives a readable report, not 10,000 lines.

import type { ExperimentResult } from './result.ts';

export function escapeXml(text: string): string {
  // Control characters are not allowed in XML 1.0 (ANSI colours in an error text would break the file).
  return text
    .replace(/[\x00-\x08\x0B\x0C\x0E-\x1F]/g, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The most items of a list a failure body shows; the count says how many there were. */
export const JUNIT_LIST_CAP = 20;

/** Details with every long list cut to its first items and a count. */
export function capDetails(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.slice(0, JUNIT_LIST_CAP).map(capDetails);
    return value.length > JUNIT_LIST_CAP ? [...items, `… ${value.length} in all`] : items;
  }
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, capDetails(v)]));
  return value;
}

function properties(result: ExperimentResult): string {
  const entries: Array<[string, string]> = [
    ['seed', String(result.seed)],
    ['runId', result.runId ?? ''],
    ['verdict', result.verdict],
    ...Object.entries(result.versions).map(([name, version]): [string, string] => [`version.${name}`, version]),
    ...(result.documented ? [['documented', result.documented.ok ? 'as documented' : `not as documented: ${result.documented.why}`] as [string, string]] : []),
  ];
  return `    <properties>\n${entries.map(([name, value]) => `      <property name="${escapeXml(name)}" value="${escapeXml(value)}"/>`).join('\n')}\n    </properties>`;
}

export function toJUnit(results: ExperimentResult[]): string {
  const suites = results.map((result) => {
    const cases = result.checks.map((check) => {
      const body =
        check.valid === true
          ? ''
          : check.valid === 'skipped'
            ? `\n      <skipped message="${escapeXml(check.summary)}"/>\n    `
            : `\n      <failure type="${check.valid === false ? 'failed' : 'unknown'}" message="${escapeXml(check.summary)}">${escapeXml(JSON.stringify(capDetails(check.details), null, 2))}</failure>\n    `;
      const time = ((check.durationMs ?? 0) / 1000).toFixed(3);
      return `    <testcase classname="faultline.${escapeXml(result.experiment)}" name="${escapeXml(check.name)}" time="${time}">${body}</testcase>`;
    });
    // A broken run is faultline's own failure: a JUnit error (not a failure), so CI tells it apart.
    if (result.error) {
      cases.push(`    <testcase classname="faultline.${escapeXml(result.experiment)}" name="run" time="${(result.timings.totalMs / 1000).toFixed(3)}"><error type="broken" message="${escapeXml(`faultline itself failed (verdict broken): ${result.error}`)}"/></testcase>`);
    }
    const failures = result.checks.filter((c) => c.valid === false || c.valid === 'unknown').length;
    const skipped = result.checks.filter((c) => c.valid === 'skipped').length;
    return (
      `  <testsuite name="${escapeXml(result.experiment)}" tests="${cases.length}" failures="${failures}" errors="${result.error ? 1 : 0}" skipped="${skipped}" ` +
      `time="${(result.timings.totalMs / 1000).toFixed(3)}">\n${properties(result)}\n${cases.join('\n')}\n  </testsuite>`
    );
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="faultline">\n${suites.join('\n')}\n</testsuites>\n`;
}
