// What `faultline validate` writes: a table on the terminal (findings, then drills), validate.json,
// junit.xml (a case per finding and per drill) and one report.html linking each drill's report.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shown } from './user-config.ts';
import { escapeXml as esc } from '../report/junit.ts';
import type { DrillOutcome, ValidateResult } from './validate.ts';
import type { Finding } from './rules/types.ts';

const where = (f: Finding) => (f.source ? `${shown(f.source.file)}${f.source.line ? `:${f.source.line}` : ''}` : '');
const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

function rpoText(o: DrillOutcome): string {
  if (!o.rpo || o.rpo.writes === null) return '-';
  return o.rpo.writes === 0 ? '0' : `${o.rpo.writes} writes / ${seconds(o.rpo.ms)}`;
}

export function formatValidate(result: ValidateResult): string {
  const out: string[] = [];
  const counts = (['error', 'warning', 'info'] as const).map((s) => [s, result.findings.filter((f) => f.severity === s).length] as const);
  out.push(`faultline validate: ${inputFiles(result).map(shown).join(' + ')}  (seed ${result.seed})`);
  for (const a of result.assumptions) out.push(`  assuming ${a}`);
  out.push('', `Findings: ${counts.map(([s, n]) => `${n} ${s}${n === 1 ? '' : 's'}`).join(', ')}`);
  for (const f of result.findings) {
    out.push(`  ${f.severity.toUpperCase().padEnd(7)} ${f.rule.padEnd(22)} ${where(f)}`);
    out.push(`          ${f.message}`);
    out.push(`          why: ${f.reason}`, `          fix: ${f.fix}`, `          see: ${f.docs}`);
  }
  if (result.mapped.length > 0) {
    out.push('', `Settings that run differently in the containers (${result.mapped.length}):`);
    for (const m of result.mapped) out.push(`  ${m.setting} (${m.source}) ${m.to ? `runs as '${m.to}'` : 'is left out'}: ${m.why}`);
  }
  if (result.drills.length > 0) {
    const header = ['drill', 'result', 'acked', 'lost', 'indet.', 'restore', 'RPO', 'RTO'];
    const rows = result.drills.map((o) => [
      o.name,
      o.status,
      String(o.writes?.acknowledged ?? '-'),
      String(o.writes?.lost ?? '-'),
      String(o.writes?.indeterminate ?? '-'),
      o.restoreCompleted === undefined || o.restoreCompleted === null ? '-' : o.restoreCompleted ? 'done' : 'FAILED',
      rpoText(o),
      seconds(o.rtoMs),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
    out.push('', 'Drills:', line(header));
    result.drills.forEach((o, i) => {
      out.push(line(rows[i]!));
      if (o.why) out.push(`      ${o.status === 'unavailable' ? 'not run' : 'why'}: ${o.why}`);
    });
  } else {
    out.push('', 'Drills: not run (--no-drills)');
  }
  if (result.note) out.push('', `Note: ${result.note}`);
  out.push('', `Verdict: ${result.verdict.toUpperCase()} in ${seconds(result.durationMs)}${result.verdict !== 'pass' ? ` (replay the drills with --seed ${result.seed})` : ''}`);
  out.push(`Files: ${join(result.dir, 'validate.json')}, junit.xml, report.html`);
  return out.join('\n');
}

export function validateJUnit(result: ValidateResult): string {
  const findingCases = result.findings.map((f) => {
    const body = f.severity === 'error' ? `<failure type="${f.severity}" message="${esc(f.message)}">${esc(`${f.reason}\nfix: ${f.fix}\nsee: ${f.docs}`)}</failure>` : `<system-out>${esc(`${f.severity}: ${f.message}\nfix: ${f.fix}`)}</system-out>`;
    return `    <testcase classname="faultline.validate.preflight" name="${esc(`${f.rule} ${where(f)}`.trim())}">${body}</testcase>`;
  });
  if (findingCases.length === 0) findingCases.push('    <testcase classname="faultline.validate.preflight" name="no findings"/>');
  const drillCases = result.drills.map((o) => {
    const body =
      o.status === 'pass'
        ? ''
        : o.status === 'unavailable'
          ? `<skipped message="${esc(o.why ?? '')}"/>`
          : o.status === 'broken'
            ? `<error type="broken" message="${esc(o.why ?? '')}">${esc(`seed ${o.seed}; report: ${o.report ?? ''}`)}</error>`
            : `<failure type="${o.status}" message="${esc(o.why ?? '')}">${esc(`seed ${o.seed}; report: ${o.report ?? ''}`)}</failure>`;
    return `    <testcase classname="faultline.validate.drills" name="${esc(o.name)}" time="${((o.durationMs ?? 0) / 1000).toFixed(3)}">${body}</testcase>`;
  });
  const suite = (name: string, cases: string[], failures: number, skipped: number, errors = 0) =>
    `  <testsuite name="${name}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}">\n    <properties><property name="seed" value="${result.seed}"/></properties>\n${cases.join('\n')}\n  </testsuite>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<testsuites name="faultline validate">',
    suite('preflight', findingCases, result.findings.filter((f) => f.severity === 'error').length, 0),
    ...(drillCases.length > 0 ? [suite('drills', drillCases, result.drills.filter((o) => o.status === 'fail').length, result.drills.filter((o) => o.status === 'unavailable').length, result.drills.filter((o) => o.status === 'broken').length)] : []),
    '</testsuites>',
    '',
  ].join('\n');
}

export function validateHtml(result: ValidateResult): string {
  const findings = result.findings
    .map((f) => `<tr class="${f.severity}"><td>${esc(f.severity)}</td><td>${esc(f.rule)}</td><td>${esc(where(f))}</td><td>${esc(f.message)}<br><small>${esc(f.reason)} Fix: ${esc(f.fix)} <a href="${esc(f.docs)}">docs</a></small></td></tr>`)
    .join('\n');
  const drills = result.drills
    .map(
      (o) =>
        `<tr class="${o.status}"><td>${o.report ? `<a href="${esc(o.report)}">${esc(o.name)}</a>` : esc(o.name)}</td><td>${esc(o.status)}</td><td>${esc(o.title)}</td><td>${o.writes?.acknowledged ?? '-'}</td><td>${o.writes?.lost ?? '-'}</td><td>${o.writes?.indeterminate ?? '-'}</td><td>${o.restoreCompleted === undefined || o.restoreCompleted === null ? '-' : o.restoreCompleted ? 'done' : 'failed'}</td><td>${esc(rpoText(o))}</td><td>${esc(seconds(o.rtoMs))}</td><td>${esc(o.why ?? '')}</td></tr>`,
    )
    .join('\n');
  const mapped = result.mapped.map((m) => `<li><code>${esc(m.setting)}</code> (${esc(m.source)}) ${m.to ? `runs as <code>${esc(m.to)}</code>` : 'is left out'}: ${esc(m.why)}</li>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>faultline validate: ${esc(result.verdict)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
tr.error td:first-child,tr.fail td:nth-child(2),tr.broken td:nth-child(2){color:#b00020;font-weight:bold}tr.warning td:first-child{color:#a05a00}tr.pass td:nth-child(2){color:#1b7f3b}small{color:#555}</style></head>
<body><h1>faultline validate: ${esc(result.verdict.toUpperCase())}</h1>
${result.note ? `<p>${esc(result.note)}</p>` : ''}
<p>${esc(inputFiles(result).join(' + '))}; seed ${result.seed}; ${esc(seconds(result.durationMs))}. <a href="validate.json">validate.json</a> · <a href="junit.xml">junit.xml</a></p>
${result.assumptions.map((a) => `<p><small>Assuming ${esc(a)}</small></p>`).join('\n')}
<h2>Findings</h2>${findings ? `<table><tr><th>severity</th><th>rule</th><th>where</th><th>finding</th></tr>\n${findings}</table>` : '<p>No findings.</p>'}
${mapped ? `<h2>Settings that run differently in the containers</h2><ul>${mapped}</ul>` : ''}
<h2>Drills</h2>${drills ? `<table><tr><th>drill</th><th>result</th><th>what</th><th>acked</th><th>lost</th><th>indet.</th><th>restore</th><th>RPO</th><th>RTO</th><th>why</th></tr>\n${drills}</table>` : '<p>Not run.</p>'}
</body></html>
`;
}

/** Writes validate.json, junit.xml and report.html into the result's folder. */
export function writeValidateFiles(result: ValidateResult): void {
  writeFileSync(join(result.dir, 'validate.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(result.dir, 'junit.xml'), validateJUnit(result));
  writeFileSync(join(result.dir, 'report.html'), validateHtml(result));
}

/** The user's files the result judged, in the order they were named. */
function inputFiles(result: ValidateResult): string[] {
  const { postgresConf, patroniConf, pgbackrestConf, sentinelConf, redisConf } = result.inputs;
  return [postgresConf, patroniConf, pgbackrestConf, sentinelConf, redisConf].filter((f): f is string => f !== undefined);
}
