import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackupHealth, BackupStats, DrillRecord } from '../app/index.js';
import { processAlive, readTasks } from '../app/index.js';
import type { StartResult } from '../daemon/index.js';
import type { Manifest } from '../repo/index.js';
import { json, prism, sandbox, waitFor, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { remoteRepo, type RemoteRepo } from '../testing/remote-repos.js';

/* 3-2-1 by the service: a local primary, a copy on S3 after every backup, a copy on SFTP on its own schedule. */
describe('the service keeps copies on S3 and SFTP (CLI)', () => {
  let s3: RemoteRepo;
  let sftp: RemoteRepo;
  let sb: Sandbox;
  let env: Record<string, string>;
  let pid = 0;

  before(async () => {
    [s3, sftp] = await Promise.all([remoteRepo('s3', 'copy'), remoteRepo('sftp', 'copy')]);
    sb = sandbox();
    writeDataset(sb.home, { files: 10 });
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: {
          schedule: { full_backup: '*/3 * * * * *' },
          service: { metrics_address: '' },
          copies: [
            { name: 'offsite-s3', repository: s3.location, after_backup: true },
            { name: 'offsite-sftp', repository: sftp.location, schedule: '*/2 * * * * *' },
          ],
        },
      }),
    );
    // one cache directory for both stores is enough here
    env = { ...sb.env, ...s3.env, ...sftp.env };
  });
  after(async () => {
    if (pid && processAlive(pid)) process.kill(pid, 'SIGKILL');
    await s3?.cleanup();
    await sftp?.cleanup();
    sb?.cleanup();
  });

  it('copies after a backup and on a schedule; stats and health read both copies; a drill restores from one', async () => {
    const r = prism(['start', '--json'], env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    pid = json<StartResult>(r).pid;
    const copied = (job: string) => () => readTasks(sb.home).find((t) => t.job === job && t.status === 'ok' && Number(t.details?.copied) >= 1);
    const toS3 = await waitFor('a copy to S3 after a backup', copied('copy:offsite-s3'), 90_000);
    const toSftp = await waitFor('a scheduled copy to SFTP', copied('copy:offsite-sftp'), 90_000);
    assert.deepEqual([toS3.trigger, toS3.details?.requested_by, toSftp.trigger], ['follow-up', 'full_backup', 'scheduled']);
    assert.equal(prism(['stop'], env).code, 0);
    assert.equal(processAlive(pid), false);
    const failed = readTasks(sb.home).filter((t) => t.status === 'failed');
    assert.deepEqual(failed, []);

    const primary = json<Manifest[]>(prism(['backup', 'list', '--json'], env));
    const stats = json<BackupStats>(prism(['backup', 'stats', '--json'], env));
    for (const c of stats.copies) {
      assert.deepEqual([c.source, c.error], ['copy', null], JSON.stringify(c));
      assert.ok(c.latest && primary.some((m) => m.id === c.latest!.id), JSON.stringify(c));
      assert.equal(c.last_run?.status, 'ok');
    }
    // the S3 copy follows every backup: it holds what its last run left, and lacks only the backups after it
    const s3Copy = stats.copies.find((c) => c.name === 'offsite-s3')!;
    const lastRun = readTasks(sb.home).findLast((t) => t.job === 'copy:offsite-s3' && t.status === 'ok')!;
    assert.equal(s3Copy.latest?.id, lastRun.details?.latest);
    const newer = primary.filter((m) => m.status === 'completed' && Date.parse(m.finished_at!) > Date.parse(s3Copy.latest!.at));
    assert.equal(s3Copy.lag.backups, newer.length);
    const health = json<BackupHealth>(prism(['backup', 'health', '--json'], env));
    // (with backups every 3 s and the service stopped, copy_behind may rightly be raised by now)
    assert.deepEqual(
      health.alerts.filter((a) => a.rule === 'copy_failed' || a.rule === 'copy_verify_failed'),
      [],
    );
    assert.deepEqual(
      health.copies.map((c) => [c.name, c.error]),
      [
        ['offsite-s3', null],
        ['offsite-sftp', null],
      ],
    );

    const d = prism(['drill', '--repo', 'offsite-sftp', '--json'], env);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.deepEqual([json<DrillRecord>(d).status, json<DrillRecord>(d).repository], ['passed', 'offsite-sftp']);
    const v = prism(['backup', 'verify', '--all', '--repo', 'offsite-s3'], env);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
