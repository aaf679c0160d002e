/**
 * The dashboard end to end, in real Chromium (Debian's, driven by playwright-core): `prism ui` on
 * a temporary PRISM_HOME with a real repository, backups made by the CLI and a PostgreSQL
 * database. Sign-in with the token link (and refusal without it), the overview against the CLI's
 * --json, live progress of a backup started from the CLI, a restore (dry run, then confirm), a
 * single-table restore, the history charts, CSRF. Screenshots of every page go to
 * PRISM_SCREENSHOT_DIR (default <tmp>/prism-dashboard-screens).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { formatBytes } from '../../core/format.js';
import { hashTree, json, prism, prismAsync, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { pgScratchDb, type ScratchDb } from '../../testing/databases.js';
import { launchChromium, newPage, screenshotDir, type TestBrowser } from '../../testing/chromium.js';
import { startUi, type RunningUi } from '../../testing/dashboard-ui.js';

/** The page's globals the functions run in the browser use (this project compiles without the DOM library). */
declare function scrollTo(x: number, y: number): void;
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: unknown, options: { subtree: boolean; childList: boolean; characterData: boolean }): void;
}
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  activeElement: { textContent: string | null; id: string } | null;
  documentElement: { scrollWidth: number; clientWidth: number };
};
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

interface ListItem {
  id: string;
  type: string;
  status: string;
  started_at: string;
  stats: { original_bytes: number; stored_bytes: number; files: number };
}

describe('the dashboard in Chromium', { timeout: 600_000 }, () => {
  let sb: Sandbox;
  let db: ScratchDb;
  let into: ScratchDb;
  let ui: RunningUi;
  let tb: TestBrowser;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let full: ListItem;
  let incr: ListItem;
  let incrTree: Map<string, string>;
  const shots = screenshotDir();
  const shot = (p: Page, name: string, fullPage = false) => p.screenshot({ path: join(shots, `${name}.png`), fullPage });

  before(async () => {
    sb = sandbox();
    writeDataset(sb.home, { files: 24 });
    db = pgScratchDb('prism_ui');
    db.sql(`CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, since date NOT NULL);
            INSERT INTO customers SELECT g, 'customer ' || g, DATE '2026-01-01' + (g % 300) FROM generate_series(1, 1500) g;
            CREATE TABLE notes (id int PRIMARY KEY, body text);
            INSERT INTO notes SELECT g, repeat('n', g % 50) FROM generate_series(1, 200) g;`);
    into = pgScratchDb('prism_ui_into');
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'app', type: 'postgres', url: db.url }] } }));
    full = json<ListItem>(prism(['backup', 'create', '--type', 'full', '--comment', 'First full backup', '--no-progress', '--json'], sb.env));
    for (let i = 1; i <= 2; i++) {
      writeFileSync(join(sb.home, 'level-1-hot', `hourly-${i}.json`), JSON.stringify({ hour: i, events: randomBytes(20_000 * i).toString('base64') }));
      assert.equal(prism(['backup', 'create', '--type', 'incremental', '--comment', `Hourly incremental ${i}`, '--no-progress'], sb.env).code, 0);
    }
    writeFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), JSON.stringify({ doc: 0, changed: true }));
    writeFileSync(join(sb.home, 'level-2-warm', 'added.txt'), 'added after the full backup\n');
    incr = json<ListItem>(prism(['backup', 'create', '--type', 'incremental', '--comment', 'Daily incremental', '--no-progress', '--json'], sb.env));
    assert.equal(full.status, 'completed');
    assert.equal(incr.status, 'completed');
    incrTree = hashTree(sb.home);
    assert.equal(prism(['drill', '--json'], sb.env).code, 0);
    ui = await startUi(sb.env);
    tb = await launchChromium();
    browser = tb.browser;
    ({ context, page, errors } = await newPage(browser));
  });

  after(async () => {
    await tb?.close();
    await ui?.stop();
    db?.drop();
    into?.drop();
    sb?.cleanup();
  });

  it('refuses without a token: the sign-in page, and no data from the API', async () => {
    const { context: anon, page: p } = await newPage(browser);
    await p.goto(ui.url);
    await p.getByRole('heading', { name: 'Sign in to the dashboard' }).waitFor();
    const text = await p.locator('body').innerText();
    assert.ok(!text.includes(full.id), 'no backup id on the sign-in page');
    assert.ok(text.includes('prism ui --print-url'), 'the page says how to get the link');
    const r = await anon.request.get(new URL('api/overview', ui.url).href);
    assert.equal(r.status(), 401);
    const body = await r.text();
    assert.match(body, /"error"/);
    assert.ok(!body.includes(full.id) && !body.includes('indicators'), body);
    const bearer = await anon.request.get(new URL('api/backups', ui.url).href, { headers: { authorization: 'Bearer not-the-token' } });
    assert.equal(bearer.status(), 401);
    await shot(p, 'login');
    // a link with a wrong token says so, and still shows nothing
    await p.goto('about:blank');
    await p.goto(`${ui.url}#token=${randomBytes(32).toString('base64url')}`);
    await p.getByText('The sign-in link was refused').waitFor();
    assert.ok(!p.url().includes('token='), 'the token left the address bar');
    await anon.close();
  });

  it('signs in with the token link, removes the token from the address bar, and shows the numbers the CLI prints', async () => {
    await page.goto(ui.loginUrl);
    await page.getByTestId('indicator-failure_rate').waitFor();
    assert.ok(!page.url().includes('token'), page.url());
    const health = json<{ indicators: { name: string; ok: boolean; message: string }[] }>(prism(['backup', 'health', '--json'], sb.env));
    const rate = health.indicators.find((i) => i.name === 'failure_rate')!;
    assert.match(await page.getByTestId('indicator-failure_rate').innerText(), new RegExp(rate.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const recent = await page.getByTestId('indicator-recent_success').innerText();
    assert.ok(recent.includes(incr.id), recent);
    assert.ok(recent.includes(health.indicators.find((i) => i.name === 'recent_success')!.ok ? 'Healthy' : 'Attention'), recent);
    const lastFull = await page.getByTestId('last-full').innerText();
    assert.ok(lastFull.includes(full.id) && lastFull.includes(formatBytes(full.stats.original_bytes)), lastFull);
    const lastIncr = await page.getByTestId('last-incremental').innerText();
    assert.ok(lastIncr.includes(incr.id) && lastIncr.includes(formatBytes(incr.stats.original_bytes)), lastIncr);
    const alerts = json<{ active: { severity: string }[] }>(prism(['alerts', '--json'], sb.env));
    for (const s of ['critical', 'high', 'medium'])
      assert.equal(await page.getByTestId(`alerts-${s}`).innerText(), String(alerts.active.filter((a) => a.severity === s).length), s);
    const status = json<{ jobs: { job: string; next_run: string | null }[] }>(prism(['status', '--json'], sb.env));
    const scheduled = status.jobs.filter((j) => j.next_run).length;
    assert.equal(await page.getByRole('region', { name: 'Next scheduled runs' }).locator('tbody tr').count(), scheduled);
    await shot(page, 'overview');
  });

  it('lists the backups as `backup list` does and opens one: files, search, download, diff, verify', async () => {
    const list = json<ListItem[]>(prism(['backup', 'list', '--json'], sb.env));
    await page.goto(`${ui.url}#/backups`);
    await page.getByTestId('backup-total').waitFor();
    assert.match(await page.getByTestId('backup-total').innerText(), new RegExp(`^${list.length} backups`));
    const rows = page.getByRole('region', { name: 'Backups' }).locator('tbody tr');
    assert.equal(await rows.count(), list.length);
    for (const [i, b] of list.entries()) {
      const row = await rows.nth(i).innerText();
      assert.ok(row.includes(b.id) && row.includes(formatBytes(b.stats.original_bytes)) && row.includes(formatBytes(b.stats.stored_bytes)), row);
    }
    await shot(page, 'backups');
    // filters: only the full backups
    await page.getByLabel('Type').selectOption('full');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid=backup-total]')?.textContent?.startsWith('1 backup'));
    assert.equal(await rows.count(), 1);

    await page.getByRole('link', { name: full.id }).first().click();
    await page.getByRole('heading', { name: 'Files' }).waitFor();
    assert.ok((await page.locator('.facts').innerText()).includes(formatBytes(full.stats.original_bytes)));
    await page.getByRole('link', { name: 'level-1-hot/' }).click();
    await page.getByRole('link', { name: 'shard-0/' }).waitFor();
    await page.getByLabel('Search by name below this folder').fill('doc-3');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('match for “doc-3”').waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page
        .getByRole('link', { name: /^Download / })
        .first()
        .click(),
    ]);
    const got = readFileSync(await download.path());
    const name = download.suggestedFilename();
    assert.equal(name, 'doc-3.json');
    assert.deepEqual(got, readFileSync(join(sb.home, 'level-1-hot', 'shard-3', 'doc-3.json')));

    await page.goto(`${ui.url}#/backups/${incr.id}`);
    await page.getByLabel('Older backup').fill(full.id);
    await page.getByRole('button', { name: 'Show differences' }).click();
    await page.getByTestId('diff').waitFor();
    const diff = json<{ added: unknown[]; removed: unknown[]; modified: unknown[] }>(prism(['backup', 'diff', full.id, incr.id, '--json'], sb.env));
    const diffText = await page.getByTestId('diff').innerText();
    assert.ok(diffText.includes(`Added: ${diff.added.length}`) && diffText.includes(`Modified: ${diff.modified.length}`), diffText);
    await page.getByRole('button', { name: 'Verify now' }).click();
    await page.getByTestId('verify-result').waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('verify-result').innerText(), /Checksum verified/);
    await shot(page, 'backup-detail-full', true);
    await page.evaluate(() => scrollTo(0, 0));
    await shot(page, 'backup-detail');
  });

  it('shows the live progress of a backup started from the CLI, then the new backup', async () => {
    // enough data that one thread takes seconds over it, without filling a disk: sparse files
    // (read, chunked and hashed in full; stored once, their chunks are all alike), and some real ones
    const big = join(sb.home, 'level-3-cold', 'bulk');
    mkdirSync(big, { recursive: true });
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(big, `sparse-${i}.img`), '');
      truncateSync(join(big, `sparse-${i}.img`), 400 * 1024 * 1024);
    }
    for (let i = 0; i < 200; i++) writeFileSync(join(big, `part-${i}.bin`), randomBytes(100_000));
    await page.goto(`${ui.url}#/overview`);
    await page.getByTestId('no-running').waitFor();
    // every state of the job the page shows, as it shows them
    await page.evaluate(() => {
      const seen: string[] = [];
      (globalThis as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        const files = document.querySelector('[data-testid=live-files]')?.textContent;
        const bytes = document.querySelector('[data-testid=live-bytes]')?.textContent;
        const t = files && bytes ? `${bytes}; ${files} files` : undefined;
        if (t && seen[seen.length - 1] !== t) seen.push(t);
      }).observe(document.querySelector('main')!, { subtree: true, childList: true, characterData: true });
    });
    const child = prismAsync(['backup', 'create', '--type', 'incremental', '--no-progress', '--json'], { ...sb.env, PRISM_BACKUP_CONCURRENCY: '1' });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const live = page.getByTestId('live-job');
    await live.waitFor({ timeout: 30_000 });
    const bar = page.getByRole('progressbar');
    assert.match((await bar.getAttribute('aria-label')) ?? '', /backup/);
    const text = await live.innerText();
    assert.match(text, /data\s+[\d.]+ (B|KB|MB)( of [\d.]+ MB \(\d+%\))?/i);
    assert.match(text, /rate\s+[\d.]+ (B|KB|MB|GB)\/s/i);
    // a screenshot mid-way, once files are being done (a fast machine may finish first)
    await page.waitForFunction(() => /^[1-9]/.test(document.querySelector('[data-testid=live-bytes]')?.textContent ?? '1'), null, { timeout: 60_000 });
    if (await live.isVisible()) await shot(page, 'overview-live');
    assert.equal(await done, 0, out);
    // the page followed the job: it showed files being done, not only the start
    const seen = await page.evaluate(() => (globalThis as unknown as { seen: string[] }).seen);
    assert.ok(seen.length >= 2 && seen.some((s) => /^[1-9][\d.]* (B|KB|MB|GB) of /.test(s)), `the progress shown: ${seen.join(' | ')}`);
    const made = JSON.parse(out) as ListItem;
    await page.getByTestId('no-running').waitFor({ timeout: 30_000 });
    // the `changed` event reloads the page's data: the new backup is the last incremental
    await page.waitForFunction((id) => document.querySelector('[data-testid=last-incremental]')?.textContent?.includes(id), made.id, { timeout: 30_000 });
  });

  it('restores into a directory: a dry run, then confirm; the files are identical', async () => {
    const target = join(sb.root, 'restored');
    await page.goto(`${ui.url}#/restore?backup=${incr.id}`);
    // the live data directory is refused, with the way to do it
    await page.getByLabel('Target directory (absolute path on the server)').fill(join(sb.home, 'level-1-hot'));
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    await page.getByText('Refused').waitFor();
    assert.match(await page.getByRole('alert').first().innerText(), /prism backup restore|stop/i);
    await page.getByLabel('Target directory (absolute path on the server)').fill(target);
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    await page.getByTestId('restore-preview').waitFor();
    const cli = json<{ plan: { create: { count: number } } }>(prism(['backup', 'restore', incr.id, '--dry-run', '--target', target, '--json'], sb.env));
    assert.match(await page.getByTestId('preview-created').innerText(), new RegExp(`Created\\s+${cli.plan.create.count.toLocaleString('en-US')}\\s`));
    assert.match(await page.getByTestId('preview-deleted').innerText(), /Deleted\s+0\s/);
    await shot(page, 'restore-full', true);
    await page.evaluate(() => scrollTo(0, 100_000));
    await shot(page, 'restore');
    const restore = page.getByRole('button', { name: 'Restore now' });
    assert.equal(await restore.isDisabled(), true, 'disabled until the preview is acknowledged');
    await page.getByRole('checkbox').check();
    await restore.click();
    await page.getByTestId('restore-result').waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('restore-result').innerText(), /Restore finished/);
    assert.deepEqual(hashTree(target), incrTree);
  });

  it('restores one table into another database, dry run first', async () => {
    await page.goto(`${ui.url}#/databases`);
    await page.getByRole('region', { name: 'Tables of app' }).waitFor();
    const tables = await page.getByRole('region', { name: 'Tables of app' }).innerText();
    assert.match(tables, /customers\s+1,500/);
    await shot(page, 'databases');
    await page.getByLabel('Table', { exact: true }).selectOption({ label: 'public.customers' });
    await page.getByLabel('Into database (URL of another database)').fill(into.url);
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    await page.getByTestId('db-preview').waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('db-preview').innerText(), /created\s+public\.customers: 1,500 rows/);
    assert.equal(into.sql(`SELECT count(*) FROM pg_tables WHERE tablename = 'customers'`).trim(), '0', 'the dry run wrote nothing');
    await page.getByRole('button', { name: /^Restore public\.customers into/ }).click();
    await page.getByTestId('db-result').waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('db-result').innerText(), /Restored and verified/);
    const digest = (d: ScratchDb) => d.sql(`SELECT count(*), md5(string_agg(id || ':' || name || ':' || since, ',' ORDER BY id)) FROM customers`).trim();
    assert.equal(digest(into), digest(db));
  });

  it('draws the history charts with a data point per backup', async () => {
    const list = json<ListItem[]>(prism(['backup', 'list', '--json'], sb.env));
    await page.goto(`${ui.url}#/history`);
    const chart = page.getByRole('img', { name: 'Size (original bytes) per backup over time' });
    await chart.locator('canvas').waitFor();
    assert.equal(await chart.locator('.chart-box').getAttribute('data-points'), String(list.length));
    const painted = await chart.locator('canvas').evaluate((c: Canvas) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
      return n;
    });
    assert.ok(painted > 500, `the chart painted ${painted} pixels`);
    await page.getByRole('img', { name: 'Restore drill RTO against its target' }).locator('canvas').waitFor();
    await shot(page, 'history-full', true);
    await shot(page, 'history');
  });

  it('refuses a POST without the CSRF token', async () => {
    const verify = new URL(`api/backups/${full.id}/verify`, ui.url).href;
    const refused = await context.request.post(verify, { data: {} });
    assert.equal(refused.status(), 403);
    const wrong = await context.request.post(verify, { data: {}, headers: { 'x-csrf-token': 'forged' } });
    assert.equal(wrong.status(), 403);
    const session = (await (await context.request.get(new URL('api/session', ui.url).href)).json()) as { csrf_token: string };
    const ok = await context.request.post(verify, { data: {}, headers: { 'x-csrf-token': session.csrf_token } });
    assert.equal(ok.status(), 200, await ok.text());
  });

  it('shows every other page without an error; narrow and dark screens', async () => {
    for (const name of ['copies', 'activity', 'config']) {
      await page.goto(`${ui.url}#/${name}`);
      await page.locator('main h1').waitFor();
      await page.waitForFunction(() => document.querySelector('.loading') === null, null, { timeout: 30_000 });
      assert.equal(await page.locator('.callout-bad').count(), 0, `${name}: ${await page.locator('main').innerText()}`);
      await shot(page, name, true);
    }
    assert.match(await page.locator('main').innerText(), /backup\.databases/);
    // the keyboard, on a fresh load: the first Tab reaches the skip link, which moves the focus to the page
    await page.goto('about:blank');
    await page.goto(`${ui.url}#/backups`);
    await page.getByTestId('backup-total').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-type', 'then the first control of the page');
    const { context: phone, page: p } = await newPage(browser, { width: 390, height: 844, colorScheme: 'dark' });
    await p.goto(ui.loginUrl);
    await p.getByTestId('indicator-storage').waitFor();
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone screen`);
    await shot(p, 'overview-phone-dark', true);
    await p.getByRole('button', { name: 'Menu' }).click();
    await p.getByRole('link', { name: 'Backups', exact: true }).click();
    await p.getByTestId('backup-total').waitFor();
    await phone.close();
    assert.deepEqual(errors, []);
  });

  it('signs out: the API answers 401 again', async () => {
    await page.goto(`${ui.url}#/overview`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the dashboard' }).waitFor();
    assert.equal((await context.request.get(new URL('api/overview', ui.url).href)).status(), 401);
  });
});
