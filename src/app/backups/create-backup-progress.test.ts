import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { ProgressEvent } from '../../core/progress.js';
import { appContext, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { progressDir, readProgressFiles, type ProgressRecord } from '../monitoring/progress-file.js';
import { createBackup } from './create-backup.js';
import { restoreBackup } from '../restore/restore-backup.js';
import { verifyBackups } from '../integrity/verify-backups.js';

const boxes: Sandbox[] = [];
after(() => boxes.forEach((b) => b.cleanup()));

describe('progress files of backup, restore and verify', () => {
  it('a backup and a restore write theirs while they run (the CLI listener still gets every event) and remove them at the end', async () => {
    const sb = sandbox();
    boxes.push(sb);
    writeDataset(sb.home, { files: 20 });
    const ctx = appContext(sb);
    const events: ProgressEvent[] = [];
    let during: ProgressRecord[] = [];
    const m = await createBackup(ctx, {
      type: 'full',
      onProgress: (e) => {
        events.push(e);
        if (e.kind === 'start') during = readProgressFiles(sb.home);
      },
    });
    assert.equal(m.status, 'completed');
    assert.ok(events.some((e) => e.kind === 'start') && events.some((e) => e.kind === 'advance'));
    assert.equal(during.length, 1);
    assert.equal(during[0]!.pid, process.pid);
    assert.equal(during[0]!.kind, 'backup');
    assert.equal(during[0]!.job, 'backup full');
    assert.equal(during[0]!.files_total, (events.find((e) => e.kind === 'start') as { totalFiles: number }).totalFiles);
    assert.deepEqual(readdirSync(progressDir(sb.home)), []);

    let restoring: ProgressRecord[] = [];
    const target = `${sb.root}/restored`;
    await restoreBackup(ctx, {
      id: m.id,
      target,
      onProgress: (e) => {
        if (e.kind === 'start') restoring = readProgressFiles(sb.home);
      },
    });
    assert.deepEqual(
      restoring.map((r) => r.kind),
      ['restore'],
    );
    assert.deepEqual(readdirSync(progressDir(sb.home)), []);
    assert.ok(existsSync(target));

    const report = await verifyBackups(ctx, { id: m.id, data: { kind: 'all' } });
    assert.equal(report.ok, true);
    assert.deepEqual(readdirSync(progressDir(sb.home)), []);
  });
});
