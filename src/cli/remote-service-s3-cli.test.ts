import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processAlive, readTasks } from '../app/index.js';
import type { StartResult } from '../daemon/index.js';
import type { Manifest } from '../repo/index.js';
import { json, prism, sandbox, waitFor, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { remoteRepo, type RemoteRepo } from '../testing/remote-repos.js';

/* The service (`prism start`) with its repository on S3: a scheduled full backup lands there, and stop ends it cleanly. */
describe('the service on a repository on S3 (CLI)', () => {
  let remote: RemoteRepo;
  let sb: Sandbox;
  let pid = 0;

  before(async () => {
    remote = await remoteRepo('s3', 'service');
    sb = sandbox();
    writeDataset(sb.home, { files: 10 });
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({ backup: { schedule: { full_backup: '* * * * * *' }, service: { metrics_address: '' } } }),
    );
  });
  after(async () => {
    if (pid && processAlive(pid)) process.kill(pid, 'SIGKILL');
    await remote?.cleanup();
    sb?.cleanup();
  });

  it('runs a scheduled full backup into the bucket, and stops', async () => {
    const env = { ...sb.env, ...remote.env, PRISM_BACKUP_PATH: remote.location };
    const r = prism(['start', '--json'], env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    pid = json<StartResult>(r).pid;
    const done = await waitFor(
      'a scheduled full backup in the task log',
      () => readTasks(sb.home).find((t) => t.job === 'full_backup' && t.status === 'ok'),
      90_000,
    );
    assert.equal(done.trigger, 'scheduled');
    assert.equal(prism(['stop'], env).code, 0);
    assert.equal(processAlive(pid), false);
    const list = json<Manifest[]>(prism(['backup', 'list', '--json'], env));
    assert.ok(
      list.some((m) => m.trigger === 'scheduled' && m.status === 'completed'),
      JSON.stringify(list.map((m) => [m.id, m.trigger, m.status])),
    );
    const verify = prism(['backup', 'verify', '--all'], env);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
