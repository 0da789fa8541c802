// report.html: one self-contained page per run (no scripts, no external files): the verdict and
// numbers, a timeline of acknowledged writes per second and their latency with fault and recovery
// windows shaded and lost writes marked, then the checks, faults and recovery steps.

import type { ExperimentResult } from './result.ts';
import { isOp, type BackupEvent, type HistoryEvent, type RecoveryEvent, type RehearsalEvent, type RoleEvent } from '../history/events.ts';
import { escapeXml } from './junit.ts';
import { isWriteFunction } from '../checkers/index.ts';

const esc = (text: unknown) => escapeXml(String(text));

interface Series {
  bucketMs: number;
  acks: number[];
  p50: number[];
  max: number[];
}

function series(events: readonly HistoryEvent[], startMs: number, endMs: number): Series {
  const span = Math.max(1, endMs - startMs);
  const bucketMs = span > 60_000 ? 1000 : 250;
  const n = Math.max(1, Math.ceil(span / bucketMs));
  const acks = new Array<number>(n).fill(0);
  const latencies: number[][] = Array.from({ length: n }, () => []);
  const invoked = new Map<number, number>();
  for (const e of events) {
    if (!isOp(e) || !isWriteFunction(e.f)) continue; // writes and appends
    if (e.type === 'invoke') invoked.set(e.key, e.time);
    else if (e.type === 'ok' && e.time >= startMs) {
      const i = Math.min(n - 1, Math.floor((e.time - startMs) / bucketMs));
      acks[i]!++;
      const start = invoked.get(e.key);
      if (start !== undefined) latencies[i]!.push(e.time - start);
    }
  }
  const pick = (values: number[], q: number) => {
    if (values.length === 0) return 0;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  };
  return {
    bucketMs,
    acks: acks.map((count) => (count * 1000) / bucketMs),
    p50: latencies.map((l) => pick(l, 0.5)),
    max: latencies.map((l) => (l.length ? Math.max(...l) : 0)),
  };
}

/** A round step for about `count` ticks over `span` (1, 2 or 5 times a power of ten). */
function niceStep(span: number, count: number): number {
  const raw = Math.max(span / count, 1e-9);
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
}

/** Where the chart's time axis starts: the workload (cluster start is a note, not most of the width). */
function workloadStart(events: readonly HistoryEvent[]): number {
  return events.find((e) => e.type === 'run' && e.phase === 'phase' && typeof e.name === 'string' && e.name.startsWith('workload'))?.time ?? 0;
}

type Window = { kind: 'fault' | 'recovery' | 'backup' | 'rehearsal'; label: string; start: number; end: number; failed: boolean };

function windows(events: readonly HistoryEvent[]): Window[] {
  const out: Window[] = [];
  const last = events.at(-1)?.time ?? 0;
  events.forEach((e, i) => {
    if ((e.type !== 'fault' && e.type !== 'recovery' && e.type !== 'backup' && e.type !== 'rehearsal') || e.phase !== 'start') return;
    const end = events
      .slice(i + 1)
      .find(
        (x) =>
          x.type === e.type &&
          x.phase === 'end' &&
          (e.type === 'backup' ||
            e.type === 'rehearsal' ||
            (e.type === 'fault' && e.id !== undefined
              ? (x as typeof e).id === e.id
              : (x as typeof e).name === e.name && (e.type !== 'fault' || (x as typeof e).target === e.target))),
      );
    out.push({
      kind: e.type,
      label: e.type === 'fault' ? `${e.name} on ${e.target}` : e.type === 'recovery' ? `recovery: ${e.name}` : e.type === 'rehearsal' ? 'restore rehearsal' : 'fresh backup',
      start: e.time,
      end: end?.time ?? last,
      failed: e.type !== 'fault' && (end as RecoveryEvent | BackupEvent | RehearsalEvent | undefined)?.outcome === 'failed',
    });
  });
  return out;
}

const CHAR_PX = 6.8; // a generous width per character of an 11 px label, so labels are placed inside the chart

function chart(result: ExperimentResult, events: readonly HistoryEvent[]): string {
  const startMs = workloadStart(events);
  const endMs = Math.max(startMs + 1, events.at(-1)?.time ?? result.timings.totalMs);
  const s = series(events, startMs, endMs);
  const W = 960, H = 200, L = 64, R = 16, gap = 36;
  const x = (ms: number) => L + ((W - L - R) * (Math.max(ms, startMs) - startMs)) / (endMs - startMs);
  const ackMax = Math.max(1, ...s.acks);
  const latMax = Math.max(1, ...s.max);
  // Window labels go in lanes above the charts, so that overlapping windows stay readable; a label
  // that would run past the right edge ends there instead, and a very long one is shortened.
  const spans = windows(events).filter((w) => w.end >= startMs);
  const maxChars = Math.floor((W - L - R) / CHAR_PX);
  const labels = spans.map((w) => (w.label.length > maxChars ? `${w.label.slice(0, maxChars - 1)}…` : w.label));
  const laneEnds: number[] = [];
  const placed = spans.map((w, i) => {
    const width = CHAR_PX * labels[i]!.length;
    const from = Math.min(x(w.start) + 2, W - R - width);
    let lane = laneEnds.findIndex((end) => end < from);
    if (lane === -1) lane = laneEnds.push(0) - 1;
    laneEnds[lane] = from + width + 8;
    return { lane, from };
  });
  const T = 16 + 13 * Math.max(1, laneEnds.length);
  const y1 = (v: number) => T + H - (H * v) / ackMax;
  const top2 = T + H + gap;
  const y2 = (v: number) => top2 + H - (H * Math.log10(1 + v)) / Math.log10(1 + latMax);
  const bucketX = (i: number) => x(startMs + i * s.bucketMs + s.bucketMs / 2);
  // Latency is drawn only where writes were acknowledged: a stall has no latency to show, not zero.
  const path = (values: number[], y: (v: number) => number, where: (i: number) => boolean = () => true) =>
    values
      .map((v, i) => (where(i) ? `${i === 0 || !where(i - 1) ? 'M' : 'L'}${bucketX(i).toFixed(1)},${y(v).toFixed(1)}` : ''))
      .filter(Boolean)
      .join(' ');
  const acked = (i: number) => s.acks[i]! > 0;
  const lostKeys = new Set((result.checks.find((c) => c.name === 'lost-writes')?.details.lostKeys as number[] | undefined) ?? []);
  const lostTimes = events.filter((e) => isOp(e) && e.type === 'ok' && isWriteFunction(e.f) && lostKeys.has(e.key) && e.time >= startMs).map((e) => e.time);
  const total = top2 + H + 40;
  const shade = spans
    .map((w, i) => {
      const colour = w.kind === 'fault' ? COLOURS.fault : w.failed ? COLOURS.failed : w.kind === 'backup' || w.kind === 'rehearsal' ? COLOURS.backup : COLOURS.recovery;
      const width = Math.max(2, x(w.end) - x(w.start));
      const labelY = 12 + 13 * placed[i]!.lane;
      return `<rect x="${x(w.start).toFixed(1)}" y="${labelY + 2}" width="${width.toFixed(1)}" height="${(top2 + H - labelY - 2).toFixed(1)}" fill="${colour}" fill-opacity="0.16"><title>${esc(w.label)} (${Math.round(w.start - startMs)}–${Math.round(w.end - startMs)} ms)</title></rect>` +
        `<text x="${placed[i]!.from.toFixed(1)}" y="${labelY}" font-size="11" fill="${colour}">${esc(labels[i]!)}</text>`;
    })
    .join('');
  // Time ticks at round seconds from the start of the workload; the last label ends at the edge.
  const step = niceStep(endMs - startMs, 10);
  const tickTimes = Array.from({ length: Math.floor((endMs - startMs) / step) + 1 }, (_, i) => i * step);
  const seconds = (ms: number) => `${Number((ms / 1000).toFixed(step < 1000 ? 1 : 0))} s`;
  const ticks = tickTimes
    .map((t) => {
      const at = x(startMs + t);
      const anchor = at > W - R - 20 ? 'end' : at < L + 10 ? 'start' : 'middle';
      return `<line x1="${at.toFixed(1)}" x2="${at.toFixed(1)}" y1="${T}" y2="${top2 + H}" stroke="#e5e5e5"/><text x="${at.toFixed(1)}" y="${top2 + H + 16}" font-size="11" text-anchor="${anchor}">${seconds(t)}</text>`;
    })
    .join('');
  // Value ticks: acknowledged writes per second (linear) and latency (log, powers of ten).
  const ackStep = niceStep(ackMax, 4);
  const ackTicks = Array.from({ length: Math.floor(ackMax / ackStep) + 1 }, (_, i) => i * ackStep)
    .map((v) => `<line x1="${L - 4}" x2="${L}" y1="${y1(v).toFixed(1)}" y2="${y1(v).toFixed(1)}" stroke="#999"/><text x="${L - 6}" y="${(y1(v) + 4).toFixed(1)}" font-size="10" text-anchor="end">${v >= 1000 ? `${v / 1000}k` : v}</text>`)
    .join('');
  const latTicks = [1, 10, 100, 1000, 10_000, 100_000]
    .filter((v) => v <= latMax)
    .map((v) => `<line x1="${L - 4}" x2="${L}" y1="${y2(v).toFixed(1)}" y2="${y2(v).toFixed(1)}" stroke="#999"/><text x="${L - 6}" y="${(y2(v) + 4).toFixed(1)}" font-size="10" text-anchor="end">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`)
    .join('');
  // One red bar per time bucket that holds lost writes (its height: how many, relative).
  const lostPerBucket = new Map<number, number>();
  for (const t of lostTimes) {
    const bucket = Math.floor((t - startMs) / s.bucketMs);
    lostPerBucket.set(bucket, (lostPerBucket.get(bucket) ?? 0) + 1);
  }
  const lostMax = Math.max(1, ...lostPerBucket.values());
  const lost = [...lostPerBucket]
    .map(([bucket, count]) => {
      const height = 4 + (26 * count) / lostMax;
      return `<rect x="${x(startMs + bucket * s.bucketMs).toFixed(1)}" y="${(T + H - height).toFixed(1)}" width="${Math.max(1.5, x(startMs + s.bucketMs) - x(startMs)).toFixed(1)}" height="${height.toFixed(1)}" fill="${COLOURS.lost}" fill-opacity="0.8"><title>${count} lost writes acknowledged here</title></rect>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${W} ${total}" width="100%" role="img" aria-label="timeline of acknowledged writes and latency" font-family="system-ui, sans-serif">
  ${ticks}${shade}
  <text x="4" y="${T - 4}" font-size="12">acked/s</text>
  ${ackTicks}
  <path d="${path(s.acks, y1)}" fill="none" stroke="${COLOURS.acks}" stroke-width="1.5"/>
  <line x1="${L}" x2="${W - R}" y1="${T + H}" y2="${T + H}" stroke="#999"/><line x1="${L}" x2="${L}" y1="${T}" y2="${T + H}" stroke="#999"/>
  ${lost}${lostTimes.length ? `<text x="${W - R}" y="${T + 12}" font-size="11" text-anchor="end" fill="${COLOURS.lost}">${lostTimes.length} lost writes, shown when they were acknowledged</text>` : ''}
  <text x="4" y="${top2 - 4}" font-size="12">latency (log)</text>
  ${latTicks}
  <path d="${path(s.max, y2, acked)}" fill="none" stroke="${COLOURS.max}" stroke-width="1"/>
  <path d="${path(s.p50, y2, acked)}" fill="none" stroke="${COLOURS.median}" stroke-width="1.5"/>
  <line x1="${L}" x2="${W - R}" y1="${top2 + H}" y2="${top2 + H}" stroke="#999"/><line x1="${L}" x2="${L}" y1="${top2}" y2="${top2 + H}" stroke="#999"/>
  <text x="${W - R}" y="${top2 + H + 32}" font-size="11" text-anchor="end">seconds since the workload started; values per ${s.bucketMs} ms</text>
</svg>`;
}

const COLOURS = { acks: '#1d3557', median: '#457b9d', max: '#e76f51', fault: '#e76f51', recovery: '#2a9d8f', failed: '#c1121f', backup: '#457b9d', lost: '#c1121f' };

function legend(): string {
  const item = (colour: string, text: string, kind: 'line' | 'box') =>
    `<span><i style="background:${colour};${kind === 'line' ? 'height:3px;vertical-align:middle' : 'opacity:0.5'}"></i>${text}</span>`;
  return `<div class="legend">${[
    item(COLOURS.acks, 'acknowledged writes/s', 'line'),
    item(COLOURS.median, 'median latency', 'line'),
    item(COLOURS.max, 'max latency', 'line'),
    item(COLOURS.lost, 'lost writes (when acknowledged)', 'box'),
    item(COLOURS.fault, 'fault', 'box'),
    item(COLOURS.recovery, 'recovery', 'box'),
    item(COLOURS.failed, 'failed recovery or backup', 'box'),
    item(COLOURS.backup, 'fresh backup, restore rehearsal', 'box'),
  ].join('')}</div>`;
}

export function renderHtml(result: ExperimentResult, events: readonly HistoryEvent[]): string {
  const show = (v: unknown, unit = '') => (v === null || v === undefined ? '—' : `${esc(v)}${unit}`);
  const mark = (valid: unknown) =>
    valid === true ? '<span class="ok">ok</span>' : valid === false ? '<span class="bad">FAIL</span>' : valid === 'skipped' ? '<span class="skip">skipped</span>' : '<span class="unk">unknown</span>';
  // The fresh backup is the first step of recovery's story: the one Sidekick skipped.
  // With an HA manager, its role changes are the recovery: who it promoted, and who it made follow.
  const recoveries = events
    .filter((e): e is RecoveryEvent | BackupEvent | RehearsalEvent | RoleEvent => ((e.type === 'recovery' || e.type === 'backup' || e.type === 'rehearsal') && e.phase === 'end') || e.type === 'role')
    .map((e) =>
      e.type === 'role'
        ? { name: `${e.by}: ${e.node} made ${e.role}`, outcome: 'ok' as const, time: e.time, detail: `${e.previous ? `in place of ${e.previous}: ` : ''}${e.detail ?? ''}` }
        : { ...e, name: e.type === 'backup' ? 'fresh backup' : e.type === 'rehearsal' ? 'restore rehearsal' : e.name },
    );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>faultline: ${esc(result.experiment)} ${esc(result.verdict)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#1b1b1b;padding:0 12px}
h1{font-size:22px;margin:0 0 4px} .verdict{padding:2px 10px;border-radius:4px;color:#fff}
.pass{background:#2a9d8f}.fail{background:#c1121f}.broken{background:#6c757d} .meta{color:#555;font-size:13px;margin-bottom:16px}
.numbers{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin:12px 0 20px}
.numbers div{background:#f5f5f5;border-radius:6px;padding:8px 10px}.numbers b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%;font-size:14px;margin:8px 0 20px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e5e5;vertical-align:top}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:#333;margin:6px 0}.legend i{display:inline-block;width:14px;height:10px;margin-right:5px;border-radius:2px}
.ok{color:#2a9d8f;font-weight:600}.bad{color:#c1121f;font-weight:600}.unk{color:#b5838d;font-weight:600}.skip{color:#777;font-weight:600}
h2{font-size:17px;margin:24px 0 6px} code{font-size:12px}
</style></head><body>
<h1>${esc(result.experiment)} <span class="verdict ${result.verdict}">${esc(result.verdict.toUpperCase())}</span></h1>
<div class="meta">seed ${esc(result.seed)} · run ${show(result.runId)} · ${esc(result.versions.postgres ?? result.versions.redis ?? '')} · ${esc(result.versions.image ?? '')}${result.versions.packages ? ` · ${esc(result.versions.packages)}` : ''}</div>
<div class="numbers">
<div>acknowledged<b>${show(result.writes.acknowledged)}</b></div>
<div>lost<b class="${result.writes.lost ? 'bad' : ''}">${show(result.writes.lost)}</b></div>
<div>indeterminate<b>${show(result.writes.indeterminate)}</b></div>
<div>anomalies<b class="${result.writes.anomalies ? 'bad' : ''}">${show(result.writes.anomalies)}</b></div>
<div>RPO<b>${show(result.rpo.writes)} writes / ${show(result.rpo.ms, ' ms')}</b></div>
<div>RTO<b>${show(result.rtoMs, ' ms')}</b></div>
<div>restore completed<b>${result.restore.completed === null ? '—' : result.restore.completed ? 'yes' : '<span class="bad">no</span>'}</b></div>
<div>cluster ready / total<b>${show(result.timings.clusterReadyMs, ' ms')} / ${show(result.timings.totalMs, ' ms')}</b></div>
</div>
<h2>Timeline</h2>
<p class="meta">Time 0 is the start of the workload${result.timings.clusterReadyMs !== null ? `; the cluster was ready ${(result.timings.clusterReadyMs / 1000).toFixed(1)} s after the run began (not drawn)` : ''}. Shaded: faults, recovery, the fresh backup and, after the workload, the restore rehearsal. Latency is drawn only where writes were acknowledged.</p>
${legend()}
${chart(result, events)}
<h2>Checks</h2>
<p class="meta">ok: the check held; FAIL: it did not; unknown: it could not tell (never a pass); skipped: not applicable here, or a measure without a budget (not evidence either way).</p>
<table><tr><th>check</th><th></th><th>summary</th></tr>
${result.checks.map((c) => `<tr><td>${esc(c.name)}</td><td>${mark(c.valid)}</td><td>${esc(c.summary)}</td></tr>`).join('\n')}
</table>
<h2>Faults</h2>
<table><tr><th>fault</th><th>target</th><th>from</th><th>to</th><th>what happened</th></tr>
${result.faults.map((f) => `<tr><td>${esc(f.name)}${f.optional ? ' <span class="skip">(optional)</span>' : ''}</td><td>${esc(f.target)}</td><td>${Math.round(f.startMs)} ms</td><td>${f.endMs === null ? '—' : `${Math.round(f.endMs)} ms`}</td><td>${f.notApplied ? `<span class="${f.optional ? 'unk' : 'bad'}">not applied:</span> ${esc(f.notApplied)}${f.detail ? ` (${esc(f.detail)})` : ''}` : esc(f.detail ?? '')}</td></tr>`).join('\n') || '<tr><td colspan="5">none</td></tr>'}
</table>
<h2>Recovery</h2>
<table><tr><th>action</th><th>outcome</th><th>at</th><th>detail</th></tr>
${recoveries.map((r) => `<tr><td>${esc(r.name)}</td><td>${r.outcome === 'ok' ? '<span class="ok">ok</span>' : '<span class="bad">failed</span>'}</td><td>${Math.round(r.time)} ms</td><td>${esc(r.detail ?? '')}</td></tr>`).join('\n') || '<tr><td colspan="4">none</td></tr>'}
</table>
${result.error ? `<h2>Run error</h2><p>faultline itself failed, so this run shows nothing about the system under test either way (verdict BROKEN; exit code 3):</p><p class="bad">${esc(result.error)}</p>` : ''}
${logsSection(result)}
<p class="meta">This run's files: ${['result.json', 'history.jsonl', 'final-state.json', 'junit.xml'].map((f) => `<a href="${f}">${f}</a>`).join(' · ')} · faultline ${esc(result.versions.faultline ?? '')}</p>
</body></html>
`;
}

/** Links to the nodes' logs kept with the run (`logs/<node>/<file>`), with the lines worth reading first. */
function logsSection(result: ExperimentResult): string {
  if (!result.logs?.length) return '';
  const href = (path: string) => path.split('/').map(encodeURIComponent).join('/');
  const rows = result.logs.map(
    (l) =>
      `<tr><td>${esc(l.node)}</td><td><a href="${esc(href(l.path))}">${esc(l.file)}</a></td><td>${esc(l.bytes)} bytes${l.truncated ? ' (only its last 10 MiB kept)' : ''}</td><td>${(l.notable ?? []).map((line) => `<code>${esc(line)}</code>`).join('<br>')}</td></tr>`,
  );
  return `<h2>Logs</h2>
<p class="meta">Every node's logs, as they were when its container was removed: the servers', the archiver's and backup tool's, and each container's output.</p>
<table><tr><th>node</th><th>log</th><th>size</th><th>notable lines</th></tr>
${rows.join('\n')}
</table>`;
}
