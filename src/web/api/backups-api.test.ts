import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBackup } from '../../app/backups/create-backup.js';
import type { AppContext, Manifest } from '../../app/index.js';
import { FixedClock } from '../../core/clock.js';
import { nameFromBytes } from '../../core/byte-names.js';
import { openRepo } from '../../testing/damage.js';
import { appContext, json, prism, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { body, bytes, call, refusal } from './api-testing.js';
import { apiRoutes } from './index.js';

// a file name that is not UTF-8: "f", 0xff, ".bin"
const ODD = Buffer.from([0x66, 0xff, 0x2e, 0x62, 0x69, 0x6e]);
const ODD_DATA = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13, 0x80]);

describe('dashboard API: backups, files, diff, verify, history', () => {
  let sb: Sandbox;
  let clock: FixedClock;
  let ctx: AppContext;
  let full: Manifest;
  let inc: Manifest;
  let full2: Manifest;

  before(async () => {
    sb = sandbox();
    clock = new FixedClock(new Date('2026-02-07T02:00:15Z'));
    ctx = appContext(sb, {}, clock);
    writeDataset(sb.home, { files: 9 });
    mkdirSync(join(sb.home, 'level-1-hot', 'odd'), { recursive: true });
    writeFileSync(Buffer.concat([Buffer.from(join(sb.home, 'level-1-hot', 'odd') + '/'), ODD]), ODD_DATA);
    full = await createBackup(ctx, { type: 'full' });
    clock.advance(86_400_000);
    writeFileSync(join(sb.home, 'level-1-hot', 'new.json'), '{"new":1}');
    inc = await createBackup(ctx, { type: 'incremental' });
    clock.advance(86_400_000);
    full2 = await createBackup(ctx, { type: 'full' });
  });
  after(() => sb.cleanup());

  it('GET /api lists every route with its method and summary', async () => {
    const list = await body<Array<{ method: string; path: string; summary: string }>>(call(ctx, 'GET /api'));
    assert.equal(list.length, apiRoutes.length);
    for (const p of ['/api/overview', '/api/backups', '/api/backups/:id/download', '/api/restore', '/api/databases/restore', '/api/config'])
      assert.ok(
        list.some((r) => r.path === p && r.summary.length > 10),
        p,
      );
  });

  it('GET /api/backups: the items of `backup list --json`, newest first, with total and paging', async () => {
    const cli = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    const r = await body(call(ctx, 'GET /api/backups'));
    assert.deepEqual(r, { total: 3, page: 1, per_page: 50, items: cli, damaged: [] });
    assert.deepEqual(
      r.items.map((m: Manifest) => m.id),
      [full2.id, inc.id, full.id],
    );
    const p2 = await body(call(ctx, 'GET /api/backups', { query: { page: '2', per_page: '1' } }));
    assert.deepEqual([p2.total, p2.page, p2.per_page, p2.items.map((m: Manifest) => m.id)], [3, 2, 1, [inc.id]]);
    const last = await body(call(ctx, 'GET /api/backups', { query: { page: '2', per_page: '2' } }));
    assert.deepEqual(
      last.items.map((m: Manifest) => m.id),
      [full.id],
    );
  });

  it('a page far past the end is empty, not an error', async () => {
    const r = await body(call(ctx, 'GET /api/backups', { query: { page: '9007199254740991', per_page: '500' } }));
    assert.deepEqual([r.total, r.items], [3, []]);
  });

  it('filters: type, status, from and to (dates or times, ISO 8601)', async () => {
    const ids = async (query: Record<string, string>) => (await body(call(ctx, 'GET /api/backups', { query }))).items.map((m: Manifest) => m.id);
    assert.deepEqual(await ids({ type: 'incremental' }), [inc.id]);
    assert.deepEqual(await ids({ type: 'full' }), [full2.id, full.id]);
    assert.deepEqual(await ids({ status: 'completed' }), [full2.id, inc.id, full.id]);
    assert.deepEqual(await ids({ status: 'failed' }), []);
    assert.deepEqual(await ids({ from: '2026-02-08' }), [full2.id, inc.id]);
    assert.deepEqual(await ids({ to: '2026-02-08' }), [inc.id, full.id]);
    assert.deepEqual(await ids({ from: '2026-02-08T00:00:00Z', to: '2026-02-08T23:00:00+01:00' }), [inc.id]);
    const cli = json<Manifest[]>(prism(['backup', 'list', '--type', 'incremental', '--json'], sb.env));
    assert.deepEqual((await body(call(ctx, 'GET /api/backups', { query: { type: 'incremental' } }))).items, cli);
  });

  it('bad paging and filters are 400 naming the field', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ per_page: '501' }, /^per_page: .*500/],
      [{ per_page: '0' }, /^per_page:/],
      [{ page: '0' }, /^page:/],
      [{ page: '-1' }, /^page:/],
      [{ page: '1e9' }, /^page:/],
      [{ page: '99999999999999999999' }, /^page:/],
      [{ type: 'weekly' }, /^type: full or incremental/],
      [{ status: 'ok' }, /^status:/],
      [{ from: 'yesterday' }, /^from: an ISO 8601/],
      [{ from: '2026-02-30' }, /^from: not a date that exists/],
      [{ to: '2026-02-07T25:00:00Z' }, /^to: not a date that exists/],
      [{ from: '2026-02-09', to: '2026-02-08' }, /from .* is after to/],
      [{ limit: '5' }, /^limit: not a known field/],
    ];
    for (const [query, message] of cases) {
      const e = await refusal(call(ctx, 'GET /api/backups', { query }));
      assert.equal(e.status, 400, JSON.stringify(query));
      assert.match(e.message, message, JSON.stringify(query));
    }
  });

  it('one backup, its chain and dependencies: as `backup info|chain|dependencies --json`', async () => {
    assert.deepEqual(await body(call(ctx, 'GET /api/backups/:id', { params: { id: inc.id } })), json(prism(['backup', 'info', inc.id, '--json'], sb.env)));
    assert.deepEqual(
      await body(call(ctx, 'GET /api/backups/:id/chain', { params: { id: inc.id } })),
      json(prism(['backup', 'chain', inc.id, '--json'], sb.env)),
    );
    assert.deepEqual(
      await body(call(ctx, 'GET /api/backups/:id/dependencies', { params: { id: full.id } })),
      json(prism(['backup', 'dependencies', full.id, '--json'], sb.env)),
    );
  });

  it('an unknown backup id is 404, on every route that takes one', async () => {
    const unknown = 'backup_20300101_000000_full';
    for (const id of [unknown, '../../etc/passwd', 'backup_x']) {
      for (const route of ['GET /api/backups/:id', 'GET /api/backups/:id/chain', 'GET /api/backups/:id/dependencies', 'GET /api/backups/:id/files']) {
        const e = await refusal(call(ctx, route, { params: { id } }));
        assert.equal(e.status, 404, `${route} ${id}`);
        assert.equal(e.code, 'BACKUP_NOT_FOUND');
      }
      assert.equal((await refusal(call(ctx, 'GET /api/backups/:id/download', { params: { id }, query: { path: 'config/gateway.json' } }))).status, 404);
      assert.equal((await refusal(call(ctx, 'POST /api/backups/:id/verify', { params: { id }, body: {} }))).status, 404);
    }
    assert.equal((await refusal(call(ctx, 'GET /api/diff', { query: { from: full.id, to: unknown } }))).status, 404);
  });

  it('files: a directory as `backup ls --json`, and a search by name below a path', async () => {
    const root = await body(call(ctx, 'GET /api/backups/:id/files', { params: { id: full.id } }));
    assert.deepEqual(root, { path: '', entries: json(prism(['backup', 'ls', full.id, '--json'], sb.env)) });
    const hot = await body(call(ctx, 'GET /api/backups/:id/files', { params: { id: full.id }, query: { path: '/level-1-hot/' } }));
    assert.deepEqual(hot.entries, json(prism(['backup', 'ls', full.id, 'level-1-hot', '--json'], sb.env)));
    const found = await body(call(ctx, 'GET /api/backups/:id/files', { params: { id: inc.id }, query: { q: 'NEW' } }));
    assert.deepEqual(
      found.entries.map((e: { path: string }) => e.path),
      ['level-1-hot/new.json'],
    );
    assert.equal(found.truncated, false);
    const docs = await body(call(ctx, 'GET /api/backups/:id/files', { params: { id: full.id }, query: { path: 'level-2-warm', q: 'doc-' } }));
    assert.ok(docs.entries.length >= 3 && docs.entries.every((e: { path: string }) => e.path.startsWith('level-2-warm/')));
    const missing = await refusal(call(ctx, 'GET /api/backups/:id/files', { params: { id: full.id }, query: { path: 'no/such/dir' } }));
    assert.equal(missing.status, 404);
  });

  it('a search stops at 1,000 results and says it was truncated', async () => {
    const sb2 = sandbox();
    try {
      const ctx2 = appContext(sb2);
      for (let i = 0; i < 1005; i++) writeFileSync(join(sb2.home, 'level-3-cold', `m-${i}.txt`), `${i}`);
      const m = await createBackup(ctx2, { type: 'full' });
      const r = await body(call(ctx2, 'GET /api/backups/:id/files', { params: { id: m.id }, query: { q: 'm-' } }));
      assert.equal(r.entries.length, 1000);
      assert.equal(r.truncated, true);
    } finally {
      sb2.cleanup();
    }
  });

  it('download: the exact bytes of a file whose name is not UTF-8, its path as `backup ls --json` prints it', async () => {
    const listed = json<Array<{ path: string }>>(prism(['backup', 'ls', full.id, 'level-1-hot/odd', '--json'], sb.env));
    const name = nameFromBytes(ODD);
    assert.deepEqual(
      listed.map((e) => e.path),
      [`level-1-hot/odd/${name}`],
    );
    // the query carries what is between the quotes of the JSON: \udcff for the byte 0xff
    const param = JSON.stringify(listed[0]!.path).slice(1, -1);
    assert.match(param, /\\udcff/);
    const f = await bytes(call(ctx, 'GET /api/backups/:id/download', { params: { id: full.id }, query: { path: param } }));
    assert.deepEqual(f.data, ODD_DATA);
    assert.equal(f.size, ODD_DATA.length);
    assert.equal(f.name, 'f_.bin');
    const doc = await bytes(call(ctx, 'GET /api/backups/:id/download', { params: { id: inc.id }, query: { path: '/level-1-hot/new.json' } }));
    assert.equal(doc.data.toString(), readFileSync(join(sb.home, 'level-1-hot', 'new.json'), 'utf8'));
  });

  it('path traversal in files and download is 400, and nothing outside the backup is served', async () => {
    writeFileSync(join(sb.root, 'secret.txt'), 'outside');
    const attempts = [
      '..',
      '../secret.txt',
      '/../secret.txt',
      'level-1-hot/../../secret.txt',
      'level-1-hot/../..',
      '\\u002e\\u002e/secret.txt',
      '\\u002e\\u002e\\u002fsecret.txt',
      'config/gateway.json\\u0000.png',
      'config\u0000/gateway.json',
      '\\x2e\\x2e',
    ];
    for (const path of attempts) {
      for (const route of ['GET /api/backups/:id/files', 'GET /api/backups/:id/download']) {
        const e = await refusal(call(ctx, route, { params: { id: full.id }, query: { path } }));
        assert.equal(e.status, 400, `${route} ${path}`);
      }
    }
    // absolute paths and "." name places inside the backup, never the live file system
    const abs = await bytes(call(ctx, 'GET /api/backups/:id/download', { params: { id: full.id }, query: { path: '/./config//gateway.json' } }));
    assert.equal(abs.data.toString(), readFileSync(join(sb.home, 'config', 'gateway.json'), 'utf8'));
    for (const path of [join(sb.root, 'secret.txt'), '/etc/passwd']) {
      const e = await refusal(call(ctx, 'GET /api/backups/:id/download', { params: { id: full.id }, query: { path } }));
      assert.equal(e.status, 404, path);
    }
    const dir = await refusal(call(ctx, 'GET /api/backups/:id/download', { params: { id: full.id }, query: { path: 'level-1-hot' } }));
    assert.equal(dir.status, 400);
    assert.match(dir.message, /is a dir, not a file/);
    assert.equal((await refusal(call(ctx, 'GET /api/backups/:id/download', { params: { id: full.id } }))).status, 400);
  });

  it('diff and stats: as `backup diff --json` and `backup stats --json`', async () => {
    assert.deepEqual(
      await body(call(ctx, 'GET /api/diff', { query: { from: full.id, to: inc.id } })),
      json(prism(['backup', 'diff', full.id, inc.id, '--json'], sb.env)),
    );
    const e = await refusal(call(ctx, 'GET /api/diff', { query: { from: full.id } }));
    assert.equal(e.status, 400);
    assert.match(e.message, /^to:/);
    const cli = json<Record<string, unknown>>(prism(['backup', 'stats', '--json'], sb.env));
    const api = await body(call(ctx, 'GET /api/stats'));
    // the disk's free space moves between two reads; everything else is the same
    for (const s of [cli, api]) delete s['disk'];
    assert.deepEqual({ ...api, failure_rate_30d: 0 }, { ...cli, failure_rate_30d: 0 });
  });

  it('verify: as `backup verify ID --json`; read_data false checks the structure only', async () => {
    const cli = json<{ ok: boolean; backups: Array<{ id: string; steps: unknown[] }> }>(prism(['backup', 'verify', inc.id, '--json'], sb.env));
    const api = await body(call(ctx, 'POST /api/backups/:id/verify', { params: { id: inc.id }, body: {} }));
    assert.equal(api.ok, true);
    assert.deepEqual(api, cli);
    const quick = await body(call(ctx, 'POST /api/backups/:id/verify', { params: { id: inc.id }, body: { read_data: false } }));
    assert.equal(quick.ok, true);
    assert.notDeepEqual(quick, api);
    assert.equal((await refusal(call(ctx, 'POST /api/backups/:id/verify', { params: { id: inc.id }, body: { read_data: 'yes' } }))).status, 400);
    assert.equal((await refusal(call(ctx, 'POST /api/backups/:id/verify', { params: { id: inc.id }, body: [] }))).status, 400);
  });

  it('history: every backup with its sizes and duration, disk lines, ratios as stats', async () => {
    const h = await body(call(ctx, 'GET /api/history'));
    const stats = await body(call(ctx, 'GET /api/stats'));
    assert.deepEqual(
      h.backups.map((b: { id: string }) => b.id),
      [full.id, inc.id, full2.id],
    );
    assert.deepEqual(h.backups[1], {
      id: inc.id,
      time: inc.started_at,
      type: 'incremental',
      status: 'completed',
      size: inc.stats.original_bytes,
      stored_size: inc.stats.stored_bytes,
      new_data: inc.stats.new_bytes,
      duration_seconds: inc.duration_ms! / 1000,
    });
    assert.deepEqual(h.failures, []);
    assert.deepEqual(h.disk.thresholds, [80, 90, 95]);
    assert.equal(typeof h.disk.used_percent, 'number');
    assert.deepEqual(h.ratios, { dedup: stats.dedup_ratio, compression: stats.compression_ratio });
    assert.deepEqual(h.drills, []);
  });

  it('the listing sees a manifest written again with the same size, and one removed (the cache is keyed on versions)', async () => {
    // a clock past the folder's last change lets the listing skip reading the folder when its version is unchanged
    const later = { ...ctx, clock: new FixedClock(new Date(Date.now() + 3_600_000)) };
    const repo = await openRepo(sb);
    for (const c of [ctx, later]) {
      const before = await body(call(c, 'GET /api/backups'));
      assert.deepEqual(await body(call(c, 'GET /api/backups')), before);
      const m = await repo.loadManifest(inc.id);
      // "completed" and "corrupted" are the same length: the object's size does not change
      await repo.saveManifest({ ...m, status: 'corrupted' });
      const r = await body(call(c, 'GET /api/backups', { query: { status: 'corrupted' } }));
      assert.deepEqual(
        r.items.map((x: Manifest) => x.id),
        [inc.id],
      );
      await repo.saveManifest(m);
      assert.deepEqual((await body(call(c, 'GET /api/backups', { query: { status: 'corrupted' } }))).items, []);
    }
    await repo.deleteManifest(full2.id);
    const after = await body(call(later, 'GET /api/backups'));
    assert.deepEqual(
      after.items.map((x: Manifest) => [x.id, x.status]),
      [
        [inc.id, 'completed'],
        [full.id, 'completed'],
      ],
    );
    assert.deepEqual(after.items, json(prism(['backup', 'list', '--json'], sb.env)));
  });
});
