import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBackup } from '../../app/backups/create-backup.js';
import { recordDrill } from '../../app/integrity/drill-history.js';
import type { AppContext, Manifest } from '../../app/index.js';
import { recordTask } from '../../app/monitoring/task-log.js';
import { systemClock } from '../../core/clock.js';
import { appContext, json, prism, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { body, call, refusal } from './api-testing.js';

const DB_PASSWORD = 'db-pass-4d1f';
const HOOK_TOKEN = 'hook-token-93ac';

describe('dashboard API: overview, tasks, drills, alerts, copies, config', () => {
  let sb: Sandbox;
  let ctx: AppContext;
  let full: Manifest;
  let inc: Manifest;

  before(async () => {
    sb = sandbox();
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: {
          retention_policy: { full_backups_count: 3 },
          alerts: { webhook_url: `https://hooks.example.invalid/services/${HOOK_TOKEN}` },
          copies: [{ name: 'offsite', repository: join(sb.root, 'offsite') }],
          // a database that is configured but not reachable: only its URL is read here
          databases: [{ name: 'main', type: 'postgres', url: `postgres://app:${DB_PASSWORD}@127.0.0.1:1/main` }],
          sources: { include: ['level-1-hot', 'level-2-warm', 'level-3-cold', 'config'] },
        },
      }),
    );
    // the CLI reads the system clock: so does this context, for the same answers
    ctx = appContext(sb, {}, systemClock);
    writeDataset(sb.home, { files: 6 });
    const files = { ...ctx, config: { ...ctx.config, backup: { ...ctx.config.backup, databases: [] } } };
    full = await createBackup(files, { type: 'full' });
    writeFileSync(join(sb.home, 'level-1-hot', 'n.json'), '{}');
    inc = await createBackup(files, { type: 'incremental' });
  });
  after(() => sb.cleanup());

  it('overview: the status, the health, its active alerts and the last backup of each kind', async () => {
    const o = await body(call(ctx, 'GET /api/overview'));
    const status = json<{ running: boolean; jobs: Array<{ job: string }> }>(prism(['status', '--json'], sb.env));
    assert.equal(o.status.running, false);
    assert.deepEqual(
      o.status.jobs.map((j: { job: string }) => j.job),
      status.jobs.map((j) => j.job),
    );
    const health = json<Record<string, unknown>>(prism(['backup', 'health', '--json'], { ...sb.env }));
    assert.deepEqual(
      o.health.indicators.map((i: { name: string; ok: boolean }) => [i.name, i.ok]),
      (health['indicators'] as Array<{ name: string; ok: boolean }>).map((i) => [i.name, i.ok]),
    );
    assert.deepEqual(o.alerts, o.health.alerts);
    assert.deepEqual(
      o.alerts.map((a: { key: string }) => a.key),
      (health['alerts'] as Array<{ key: string }>).map((a) => a.key),
    );
    assert.equal(o.last.full.id, full.id);
    assert.equal(o.last.incremental.id, inc.id);
    assert.equal(o.last.database, null);
    assert.deepEqual(o.last.incremental, json(prism(['backup', 'info', inc.id, '--json'], sb.env)));
  });

  it('tasks: as `tasks --json` (days, job); an unknown job or a bad count is 400', async () => {
    const now = Date.now();
    const at = (h: number) => new Date(now - h * 3_600_000).toISOString();
    recordTask(sb.home, { job: 'full_backup', trigger: 'scheduled', started_at: at(30), finished_at: at(29.9), status: 'ok' });
    recordTask(sb.home, { job: 'cleanup', trigger: 'follow-up', started_at: at(29), finished_at: at(28.9), status: 'failed', error_code: 'ERR_X' });
    recordTask(sb.home, { job: 'full_backup', trigger: 'manual', started_at: at(24 * 10), finished_at: at(24 * 10), status: 'ok' });
    assert.deepEqual(await body(call(ctx, 'GET /api/tasks')), json(prism(['tasks', '--json'], sb.env)));
    const month = await body(call(ctx, 'GET /api/tasks', { query: { days: '30', job: 'full_backup' } }));
    assert.deepEqual(month, json<typeof month>(prism(['tasks', '--days', '30', '--job', 'full_backup', '--json'], sb.env)));
    assert.equal(month.tasks.length, 2);
    const bad = await refusal(call(ctx, 'GET /api/tasks', { query: { job: 'no_such_job' } }));
    assert.equal(bad.status, 400);
    assert.match(bad.message, /is not a job/);
    assert.equal((await refusal(call(ctx, 'GET /api/tasks', { query: { days: 'x' } }))).status, 400);
  });

  it('drills: as `drill --history --json`', async () => {
    recordDrill(sb.home, {
      time: new Date().toISOString(),
      backup_id: full.id,
      trigger: 'manual',
      status: 'passed',
      rto_seconds: 1.5,
      target_seconds: 3600,
      within_target: true,
      files_checked: 7,
    });
    const d = await body(call(ctx, 'GET /api/drills'));
    assert.deepEqual(d, json<typeof d>(prism(['drill', '--history', '--json'], sb.env)));
    assert.equal(d.length, 1);
    const h = await body(call(ctx, 'GET /api/history'));
    assert.deepEqual(h.drills, [{ time: d[0].time, rto_seconds: 1.5, target_seconds: 3600, passed: true }]);
  });

  it('history: a point per backup, oldest first, and the ratios and disk use of `backup stats --json`', async () => {
    const h = await body(call(ctx, 'GET /api/history'));
    const stats = json<{ dedup_ratio: number; compression_ratio: number; disk: { used_percent: number } | null }>(prism(['backup', 'stats', '--json'], sb.env));
    const list = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.deepEqual(
      h.backups,
      [...list].reverse().map((m) => ({
        id: m.id,
        time: m.started_at,
        type: m.type,
        status: m.status,
        size: m.stats.original_bytes,
        stored_size: m.stats.stored_bytes,
        new_data: m.stats.new_bytes,
        duration_seconds: m.duration_ms === null ? null : m.duration_ms / 1000,
      })),
    );
    assert.deepEqual(h.ratios, { dedup: stats.dedup_ratio, compression: stats.compression_ratio });
    assert.ok(stats.disk && h.disk.used_percent !== null, 'a local repository has a disk');
    // the disk is shared with whatever else runs: the same measure, a moment apart
    assert.ok(Math.abs(h.disk.used_percent - stats.disk.used_percent) < 1, `${h.disk.used_percent} vs ${stats.disk.used_percent}`);
    assert.deepEqual(h.disk.thresholds, [80, 90, 95]);
  });

  it('alerts: as `alerts --all --json`, nothing delivered', async () => {
    const api = await body(call(ctx, 'GET /api/alerts'));
    const cli = json<Record<string, unknown>>(prism(['alerts', '--all', '--json'], sb.env));
    assert.deepEqual({ ...api, evaluated_at: '' }, { ...cli, evaluated_at: '' });
    assert.deepEqual(api.deliveries, []);
    assert.ok(Array.isArray(api.resolved));
  });

  it('copies: each copy with its state, as the copies of `backup stats --json`', async () => {
    const c = await body(call(ctx, 'GET /api/copies'));
    const stats = json<{ copies: unknown[] }>(prism(['backup', 'stats', '--json'], sb.env));
    assert.equal(c.copies.length, 1);
    assert.equal(c.copies[0].name, 'offsite');
    assert.deepEqual(c.copies, stats.copies);
  });

  it('config: every value with its origin, the retention policy, and no secret in it', async () => {
    const c = await body(call(ctx, 'GET /api/config'));
    const text = JSON.stringify(c);
    assert.ok(!text.includes(DB_PASSWORD), 'the database password is masked');
    assert.ok(!text.includes(HOOK_TOKEN), "the webhook's token is masked");
    const value = (key: string) => c.values.find((v: { key: string }) => v.key === key);
    assert.deepEqual(value('backup.retention_policy.full_backups_count'), { key: 'backup.retention_policy.full_backups_count', value: 3, origin: 'file' });
    assert.equal(value('backup.retention_policy.incremental_backups_count').origin, 'default');
    assert.deepEqual(value('backup.storage_path'), { key: 'backup.storage_path', value: sb.repo, origin: 'env' });
    assert.equal(value('backup.alerts.webhook_url').value, 'https://hooks.example.invalid/***');
    assert.equal(value('backup.databases').value[0].url, 'postgres://app:***@127.0.0.1:1/main');
    assert.deepEqual(c.policy, json(prism(['backup', 'policy', '--json'], sb.env)));
  });
});
