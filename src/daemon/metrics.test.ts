import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createBackup, readCopyState, recordDrill, type Manifest } from '../app/index.js';
import { copyAndRecord } from '../app/copies/copy-run.js';
import { copyTarget } from '../app/copies/copy-target.js';
import { FixedClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import type { PrismError } from '../errors/index.js';
import { appContext, sandbox, writeDataset } from '../testing/fixtures.js';
import { parseMetrics } from '../testing/prometheus.js';
import { ServiceMetrics } from './metrics.js';
import { parseAddress, startMetricsServer, type MetricsServer } from './metrics-server.js';

describe('metrics endpoint', () => {
  const sb = sandbox();
  const clock = new FixedClock(new Date('2026-02-07T02:00:15Z'));
  const ctx = appContext(sb, {}, clock);
  let server: MetricsServer;
  let full: Manifest;
  let metrics: ServiceMetrics;
  before(async () => {
    writeDataset(sb.home, { files: 10 });
    full = await createBackup(ctx, { type: 'full', trigger: 'scheduled' });
    clock.advance(60_000);
    // a failed attempt: an included folder is missing
    renameSync(join(sb.home, 'level-2-warm'), join(sb.root, 'moved'));
    await assert.rejects(createBackup(ctx, { type: 'incremental', trigger: 'scheduled' }), (e: PrismError) => e.id === 'ERR_BACKUP_003');
    renameSync(join(sb.root, 'moved'), join(sb.home, 'level-2-warm'));
    recordDrill(sb.home, {
      time: '2026-02-07T05:00:00.000Z',
      backup_id: full.id,
      trigger: 'scheduled',
      status: 'passed',
      rto_seconds: 3.25,
      target_seconds: 10,
      within_target: true,
      files_checked: 11,
    });
    metrics = new ServiceMetrics({
      ctx,
      alerts: {
        active: () => [
          { rule: 'storage_over_80', severity: 'medium' },
          { rule: 'backup_failed', severity: 'high' },
          { rule: 'verify_failed', severity: 'high' },
        ],
      },
      nextRuns: () => [
        { job: 'full_backup', at: new Date('2026-02-08T02:00:00Z') },
        { job: 'drill', at: null },
      ],
    });
    metrics.countTask({ job: 'full_backup', trigger: 'scheduled', started_at: '', finished_at: '', status: 'ok' });
    metrics.countTask({ job: 'full_backup', trigger: 'catch-up', started_at: '', finished_at: '', status: 'ok' });
    metrics.countTask({ job: 'cleanup', trigger: 'scheduled', started_at: '', finished_at: '', status: 'failed' });
    server = await startMetricsServer('127.0.0.1:0', metrics, silentLogger);
  });
  after(async () => {
    await server?.close();
    sb.cleanup();
  });

  it('serves the named metrics with the repository, task and drill figures', async () => {
    const res = await fetch(`http://${server.address}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const m = parseMetrics(await res.text());
    assert.equal(m.get('prism_backup_last_success_timestamp_seconds{type="full"}'), Date.parse(full.finished_at!) / 1000);
    assert.equal(m.get('prism_backup_last_success_timestamp_seconds{type="incremental"}'), 0);
    assert.equal(m.get('prism_backup_last_duration_seconds{type="full"}'), full.duration_ms! / 1000);
    assert.equal(m.get('prism_backup_last_files{type="full"}'), full.stats.files);
    assert.equal(m.get('prism_backup_last_original_bytes{type="full"}'), full.stats.original_bytes);
    assert.equal(m.get('prism_backup_last_stored_bytes{type="full"}'), full.stats.stored_bytes);
    assert.equal(m.get('prism_backups{type="full",status="completed"}'), 1);
    assert.equal(m.get('prism_backup_failures{type="incremental",code="ERR_BACKUP_003"}'), 1);
    assert.ok(m.get('prism_repository_size_bytes')! > full.stats.stored_bytes);
    assert.ok(m.get('prism_disk_free_bytes')! > 0 && m.get('prism_disk_total_bytes')! >= m.get('prism_disk_free_bytes')!);
    assert.equal(m.get('prism_job_runs_total{job="full_backup",status="ok"}'), 2);
    assert.equal(m.get('prism_job_runs_total{job="cleanup",status="failed"}'), 1);
    assert.equal(m.get('prism_job_next_run_timestamp_seconds{job="full_backup"}'), Date.parse('2026-02-08T02:00:00Z') / 1000);
    assert.equal(m.has('prism_job_next_run_timestamp_seconds{job="drill"}'), false);
    assert.deepEqual(
      ['critical', 'high', 'medium'].map((s) => m.get(`prism_alerts_active{severity="${s}"}`)),
      [0, 2, 1],
    );
    assert.equal(m.get('prism_alert_active{rule="verify_failed",severity="high"}'), 1);
    assert.equal(m.get('prism_drill_last_rto_seconds'), 3.25);
    assert.equal(m.get('prism_drill_last_passed'), 1);
    assert.equal(m.get('prism_drill_last_timestamp_seconds'), Date.parse('2026-02-07T05:00:00Z') / 1000);
    assert.equal(m.get('prism_drill_rto_target_seconds'), 10);
    assert.ok(m.has('process_start_time_seconds'), 'process metrics of the service');
  });

  it('answers /healthz, and 404 / 405 for anything else', async () => {
    const h = await fetch(`http://${server.address}/healthz`);
    assert.deepEqual([h.status, await h.text()], [200, 'ok\n']);
    assert.equal((await fetch(`http://${server.address}/nope`)).status, 404);
    assert.equal((await fetch(`http://${server.address}/metrics`, { method: 'POST' })).status, 405);
  });

  it('exports 0 alerts for every severity without an alert source, and no drill yet as 0', async () => {
    const bare = sandbox();
    try {
      const m = new ServiceMetrics({ ctx: appContext(bare), alerts: null, nextRuns: () => [] });
      const parsed = parseMetrics(await m.render());
      assert.deepEqual(
        ['critical', 'high', 'medium'].map((s) => parsed.get(`prism_alerts_active{severity="${s}"}`)),
        [0, 0, 0],
      );
      assert.equal(parsed.get('prism_drill_last_rto_seconds'), 0);
      assert.equal(parsed.get('prism_repository_size_bytes'), 0, 'no repository yet');
    } finally {
      bare.cleanup();
    }
  });

  it('exports each copy: last success and run, lag in backups and seconds, bytes copied (from the recorded runs, no store reached)', async () => {
    const c = sandbox();
    try {
      writeDataset(c.home, { files: 4 });
      writeFileSync(join(c.root, 'not-a-dir'), 'x');
      writeFileSync(
        join(c.home, 'config', 'backup.json'),
        JSON.stringify({
          backup: {
            copies: [
              { name: 'second-disk', repository: join(c.root, 'second-disk'), after_backup: true },
              { name: 'offsite', repository: join(c.root, 'not-a-dir', 'copy'), after_backup: true },
              { name: 'unused', repository: join(c.root, 'unused'), schedule: '0 6 * * *' },
            ],
          },
        }),
      );
      const cc = appContext(c, {}, clock);
      const first = await createBackup(cc, { type: 'full', trigger: 'scheduled' });
      clock.advance(60_000);
      const copied = await copyAndRecord(cc, copyTarget(cc.config, 'second-disk'), { ids: [first.id] });
      await assert.rejects(copyAndRecord(cc, copyTarget(cc.config, 'offsite'), {}));
      clock.advance(3600_000);
      const second = await createBackup(cc, { type: 'full', trigger: 'scheduled' });
      const m = parseMetrics(await new ServiceMetrics({ ctx: cc, alerts: null, nextRuns: () => [] }).render());
      const of = (name: string, copy: string) => m.get(`${name}{copy="${copy}"}`);
      const ran = Date.parse(readCopyState(c.home, 'second-disk')!.last_attempt_at) / 1000;
      assert.deepEqual(
        [of('prism_copy_last_success_timestamp_seconds', 'second-disk'), of('prism_copy_last_attempt_timestamp_seconds', 'second-disk')],
        [ran, ran],
      );
      assert.equal(of('prism_copy_last_run_ok', 'second-disk'), 1);
      assert.equal(of('prism_copy_lag_backups', 'second-disk'), 1);
      assert.equal(of('prism_copy_lag_seconds', 'second-disk'), (Date.parse(second.finished_at!) - Date.parse(first.finished_at!)) / 1000);
      assert.equal(of('prism_copy_bytes_total', 'second-disk'), copied.bytes_copied);
      assert.ok(copied.bytes_copied > 0);
      // a copy whose only run failed, and one never run: nothing succeeded, both backups wait
      assert.deepEqual(
        [
          'prism_copy_last_success_timestamp_seconds',
          'prism_copy_last_run_ok',
          'prism_copy_lag_backups',
          'prism_copy_lag_seconds',
          'prism_copy_bytes_total',
        ].map((n) => [of(n, 'offsite'), of(n, 'unused')]),
        [
          [0, 0],
          [0, 0],
          [2, 2],
          [-1, -1],
          [0, 0],
        ],
      );
      assert.ok(of('prism_copy_last_attempt_timestamp_seconds', 'offsite')! > 0);
      assert.equal(of('prism_copy_last_attempt_timestamp_seconds', 'unused'), 0);
    } finally {
      c.cleanup();
    }
  });

  it('refuses an address in use and one that is not host:port', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      await assert.rejects(
        startMetricsServer(`127.0.0.1:${port}`, metrics, silentLogger),
        (e: PrismError) => e.id === 'ERR_PRISM_METRICS_ADDRESS' && /is in use/.test(e.message),
      );
    } finally {
      taken.close();
    }
    for (const bad of ['9464', 'localhost:', 'host:70000', ':9464', '1.2.3.4:x']) {
      assert.throws(
        () => parseAddress(bad),
        (e: PrismError) => e.id === 'ERR_PRISM_CONFIG',
        bad,
      );
    }
    assert.deepEqual(parseAddress('[::1]:9464'), { host: '::1', port: 9464 });
    assert.deepEqual(parseAddress('localhost:0'), { host: 'localhost', port: 0 });
  });
});
