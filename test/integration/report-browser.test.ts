// report.html in a real browser (Debian's Chromium, driven by playwright-core): the page of a real
// run shows its chart, checks table and every label inside the viewport, logs no console error
// and requests nothing from the network.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { runExperiment } from '../../harness/experiment/index.ts';
import { nothingLeft, out, waitForNoLeftovers } from '../helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
// CI installs Chromium (scripts/setup-debian.sh); elsewhere the test says why it did not run.
const haveChromium = existsSync(CHROMIUM) || process.env.CI === 'true';

describe.skipIf(!haveChromium)('report.html in a real browser', () => {
  it('shows the chart, the checks and every label inside the viewport, with no console error and no network request', async () => {
    const result = await runExperiment(
      {
        name: 'report-in-browser',
        description: 'a short run with a fault and recovery windows to draw',
        topology: { domains: ['san-a'], postgres: { nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }] } },
        workload: { clients: 2, duration: '4s' },
        faults: [{ at: '1s', fault: 'io-stall', target: 'primary', duration: '1s' }],
      },
      { outDir: out('faultline-browser-'), seed: 1 },
    );
    expect(await waitForNoLeftovers(result.runId!)).toEqual(nothingLeft);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
      page.on('pageerror', (error) => problems.push(error.message));
      const url = pathToFileURL(join(result.dir, 'report.html')).href;
      page.on('request', (request) => request.url() !== url && requests.push(request.url()));
      await page.goto(url);

      const width = 1280;
      const box = async (selector: string) => (await page.locator(selector).first().boundingBox())!;
      const svg = await box('svg');
      expect(svg.x).toBeGreaterThanOrEqual(0);
      expect(svg.x + svg.width).toBeLessThanOrEqual(width);
      expect(svg.height).toBeGreaterThan(200);
      const table = await box('table');
      expect(table.x + table.width).toBeLessThanOrEqual(width);
      expect(await page.locator('table').first().locator('tr').count()).toBe(result.checks.length + 1);

      // Every label of the chart lies inside the chart and the viewport, none cut off at an edge.
      const labels = await page.locator('svg text').evaluateAll((nodes) =>
        nodes.map((node) => {
          const r = node.getBoundingClientRect();
          const s = node.ownerSVGElement!.getBoundingClientRect();
          return { text: node.textContent ?? '', left: r.left, right: r.right, top: r.top, bottom: r.bottom, svgLeft: s.left, svgRight: s.right, svgTop: s.top, svgBottom: s.bottom };
        }),
      );
      expect(labels.length).toBeGreaterThan(10);
      expect(labels.map((l) => l.text)).toContain('io-stall on pg-primary');
      expect(labels.map((l) => l.text)).toContain('0 s');
      for (const l of labels) {
        expect(l.left, `label '${l.text}'`).toBeGreaterThanOrEqual(Math.max(0, l.svgLeft) - 0.5);
        expect(l.right, `label '${l.text}'`).toBeLessThanOrEqual(Math.min(width, l.svgRight) + 0.5);
        expect(l.top, `label '${l.text}'`).toBeGreaterThanOrEqual(l.svgTop - 0.5);
        expect(l.bottom, `label '${l.text}'`).toBeLessThanOrEqual(l.svgBottom + 0.5);
      }
      expect(await page.locator('.legend i').count()).toBeGreaterThanOrEqual(6);
      expect(await page.locator('a[href="result.json"]').count()).toBe(1);
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      await page.screenshot({ path: join(result.dir, 'report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
