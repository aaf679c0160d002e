/**
 * The dashboard on a repository with many backups, in Chromium: the overview, the list with its
 * paging (the last page, a page past the end) and the history chart stay right. One backup is
 * made by the CLI; the others are manifests of the same tree written through the repository
 * (each a complete, valid backup as `backup list` and `verify` see it), which takes seconds
 * instead of minutes. The render times and the bytes of the first load are reported as test
 * diagnostics and in <screenshots>/scale-figures.json, not asserted: timings never go into tests.
 *
 * How many: PRISM_DASHBOARD_SCALE_BACKUPS (default 300, several pages of 50, for `npm test`);
 * `npm run test:dashboard-scale` runs this file alone with 5,000.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { openRepository } from '../../app/index.js';
import type { Manifest } from '../../repo/index.js';
import { formatCount } from '../../core/format.js';
import { appContext, json, prism, prismRun, sandbox, type Sandbox } from '../../testing/fixtures.js';
import { launchChromium, newPage, screenshotDir, type TestBrowser } from '../../testing/chromium.js';
import { startUi, type RunningUi } from '../../testing/dashboard-ui.js';

/** The page's globals the functions run in the browser use (this project compiles without the DOM library). */
declare const performance: { now(): number };
declare const window: { __drawn?: Record<string, number> };
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: unknown, options: { subtree: boolean; childList: boolean }): void;
  disconnect(): void;
}
declare const document: { querySelector(selector: string): unknown };
declare function requestAnimationFrame(callback: () => void): number;

const PER_PAGE = 50;
/** The number of backups in the repository: more than 2 pages of 50. */
const COUNT = backupCount(process.env.PRISM_DASHBOARD_SCALE_BACKUPS);
const PAGES = Math.ceil(COUNT / PER_PAGE);

function backupCount(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 300;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 2 * PER_PAGE + 1) {
    throw new Error(`PRISM_DASHBOARD_SCALE_BACKUPS: a whole number of at least ${2 * PER_PAGE + 1}, not ${JSON.stringify(raw)}`);
  }
  return n;
}

const pad = (n: number) => String(n).padStart(2, '0');
const idAt = (d: Date, type: string) =>
  `backup_${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}_${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}_${type}`;

describe(`the dashboard with ${formatCount(COUNT)} backups`, { timeout: 600_000 }, () => {
  let sb: Sandbox;
  let ui: RunningUi;
  let tb: TestBrowser;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let newest: Manifest;
  let oldest: Manifest;
  const figures: Record<string, number> = {};

  before(async () => {
    sb = sandbox();
    writeFileSync(join(sb.home, 'level-1-hot', 'one.json'), JSON.stringify({ hello: 'world' }));
    const first = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--no-progress', '--json'], sb.env));
    const repo = await openRepository(appContext(sb));
    const base = Date.parse(first.started_at);
    let parent = first.id;
    // hourly backups going back from the real one, a full one each day
    for (let i = 1; i < COUNT; i++) {
      const at = new Date(base - i * 3_600_000);
      const type = i % 24 === 0 ? 'full' : 'incremental';
      const m: Manifest = {
        ...first,
        id: idAt(at, type),
        type,
        trigger: 'scheduled',
        parent: type === 'full' ? null : parent,
        comment: null,
        started_at: at.toISOString(),
        finished_at: new Date(at.getTime() + 1_000 + (i % 7) * 150).toISOString(),
        duration_ms: 1_000 + (i % 7) * 150,
        stats: { ...first.stats, new_bytes: type === 'full' ? first.stats.original_bytes : (i % 5) * 10 },
      };
      await repo.saveManifest(m);
      parent = m.id;
      if (i === COUNT - 1) oldest = m;
    }
    newest = first;
    ui = await startUi(sb.env);
    tb = await launchChromium();
    browser = tb.browser;
    ({ page, errors } = await newPage(browser));
    await watchDrawn(page, ['[data-testid=last-full]', '[data-testid=backup-total]', '.chart-box canvas']);
  });

  after(async () => {
    await tb?.close();
    await ui?.stop();
    sb?.cleanup();
  });

  /**
   * Loads `hash` in a fresh document and waits for `ready`; the time from navigation start to when
   * the test sees it, in ms (what the figures `*_ms` are). The page is looked at every frame: a
   * locator's waitFor looks again after 20, 50, 100, 100 and then every 500 ms, which would add up
   * to half a second to a figure. Also kept under `<figure>_drawn_ms`: the time the page itself
   * drew it (inserted, then the next frame), without the test's round trips.
   */
  async function timedLoad(p: Page, hash: string, ready: string, figure?: string): Promise<number> {
    await p.goto('about:blank');
    await p.goto(`${ui.url}${hash}`);
    await p.waitForFunction((sel) => document.querySelector(sel) !== null, ready, { polling: 'raf', timeout: 60_000 });
    const seen = await p.evaluate(() => performance.now());
    await p.locator(ready).first().waitFor({ timeout: 60_000 });
    const drawn = await p.evaluate((sel) => window.__drawn?.[sel] ?? new Promise<number>((r) => setTimeout(() => r(window.__drawn?.[sel] ?? NaN), 500)), ready);
    if (figure && Number.isFinite(drawn)) figures[`${figure}_drawn_ms`] = Math.round(drawn);
    return seen;
  }

  /** In each new document: when each `ready` selector first matches, then a frame later (drawn). */
  async function watchDrawn(p: Page, selectors: string[]): Promise<void> {
    await p.addInitScript((sels: string[]) => {
      const drawn: Record<string, number> = {};
      window.__drawn = drawn;
      const pending = new Set(sels);
      const seen = new MutationObserver(() => {
        for (const sel of [...pending]) {
          if (!document.querySelector(sel)) continue;
          pending.delete(sel);
          requestAnimationFrame(() => setTimeout(() => (drawn[sel] = performance.now())));
        }
        if (pending.size === 0) seen.disconnect();
      });
      seen.observe(document, { childList: true, subtree: true });
    }, selectors);
  }

  it('signs in and measures the first load: every byte the browser fetched', async () => {
    const { context, page: p } = await newPage(browser);
    const sizes: Promise<number>[] = [];
    const files: string[] = [];
    p.on('requestfinished', (r) => {
      sizes.push(r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize));
      files.push(new URL(r.url()).pathname);
    });
    await p.goto(ui.loginUrl);
    await p.getByTestId('last-full').waitFor({ timeout: 60_000 });
    // the event stream stays open (never "network idle"): what finished once the page is drawn
    await p.waitForTimeout(500);
    const bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
    figures.first_load_kb = Math.round(bytes / 102.4) / 10;
    figures.first_load_requests = files.length;
    assert.ok(files.includes('/app.js') && files.includes('/app.css'), files.join(' '));
    assert.ok(!files.some((f) => f.startsWith('/history')), `the charts' code is not part of the first load: ${files.join(' ')}`);
    await context.close();
  });

  it('the overview names the newest backup', async () => {
    await page.goto(ui.loginUrl);
    await page.getByTestId('last-incremental').waitFor({ timeout: 60_000 });
    figures.overview_ms = Math.round(await timedLoad(page, '#/overview', '[data-testid=last-full]', 'overview'));
    assert.ok((await page.getByTestId('last-full').innerText()).includes(newest.id));
  });

  it(`the list: ${formatCount(COUNT)} backups in pages of ${PER_PAGE}, the last page ends with the oldest, a page past the end says so`, async () => {
    figures.backups_ms = Math.round(await timedLoad(page, '#/backups', '[data-testid=backup-total]', 'backups'));
    assert.equal(await page.getByTestId('backup-total').innerText(), `${formatCount(COUNT)} backups · page 1 of ${formatCount(PAGES)}`);
    const rows = page.getByRole('region', { name: 'Backups' }).locator('tbody tr');
    assert.equal(await rows.count(), PER_PAGE);
    assert.ok((await rows.first().innerText()).includes(newest.id));
    const t0 = Date.now();
    await page.getByRole('link', { name: 'Older →' }).click();
    await page
      .getByText(`page 2 of ${formatCount(PAGES)}`)
      .first()
      .waitFor();
    figures.next_page_ms = Date.now() - t0;
    assert.equal(await rows.count(), PER_PAGE);
    figures.last_page_ms = Math.round(await timedLoad(page, `#/backups?page=${PAGES}`, '[data-testid=backup-total]', 'last_page'));
    assert.equal(await page.getByTestId('backup-total').innerText(), `${formatCount(COUNT)} backups · page ${PAGES} of ${formatCount(PAGES)}`);
    assert.equal(await rows.count(), COUNT - (PAGES - 1) * PER_PAGE);
    assert.ok((await rows.last().innerText()).includes(oldest.id));
    await page.goto(`${ui.url}#/backups?page=${PAGES * 1000}`);
    await page.getByText(`Page ${PAGES * 1000} is past the end.`).waitFor();
    const filtered = await timedLoad(page, '#/backups?type=full', '[data-testid=backup-total]', 'filter_full');
    figures.filter_full_ms = Math.round(filtered);
    assert.match(await page.getByTestId('backup-total').innerText(), new RegExp(`^${formatCount(Math.floor((COUNT - 1) / 24) + 1)} backups · page 1 of `));
  });

  it('the history chart holds a point for each backup', async () => {
    figures.history_ms = Math.round(await timedLoad(page, '#/history', '.chart-box canvas', 'history'));
    const box = page.getByRole('img', { name: 'Size (original bytes) per backup over time' }).locator('.chart-box');
    assert.equal(await box.getAttribute('data-points'), String(COUNT));
    await page.screenshot({ path: join(screenshotDir(), `history-${COUNT}.png`) });
    assert.deepEqual(errors, []);
  });

  it('reports the figures', async (t) => {
    const list = json<unknown[]>(await prismRun(['backup', 'list', '--json'], sb.env));
    assert.equal(list.length, COUNT);
    writeFileSync(join(screenshotDir(), 'scale-figures.json'), JSON.stringify(figures, null, 2));
    t.diagnostic(`${formatCount(COUNT)} backups: ${JSON.stringify(figures)}`);
  });
});
