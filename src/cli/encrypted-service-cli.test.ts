import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { activeAlerts, processAlive, readTasks, type TaskRecord } from '../app/index.js';
import type { ServiceStatus, StartResult } from '../daemon/index.js';
import type { Manifest } from '../repo/index.js';
import { TEST_PASSWORD } from '../testing/encrypted.js';
import { json, prism, sandbox, waitFor, writeDataset, type CliResult, type Sandbox } from '../testing/fixtures.js';

/*
 * The service (`prism start`) on an encrypted repository created by `prism init --encrypt`, the
 * password from PRISM_PASSWORD_FILE in the service's environment.
 */
const boxes: Sandbox[] = [];
const started: number[] = [];
after(() => {
  for (const pid of started) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  boxes.forEach((b) => b.cleanup());
});

/** A PRISM_HOME with data, a full backup every second, and an encrypted repository; env with the password file. */
function encryptedHome(): { sb: Sandbox; env: Record<string, string> } {
  const sb = sandbox();
  boxes.push(sb);
  writeDataset(sb.home, { files: 8 });
  writeFileSync(
    join(sb.home, 'config', 'backup.json'),
    JSON.stringify({ backup: { schedule: { full_backup: '* * * * * *' }, service: { metrics_address: '' } } }),
  );
  const password = join(sb.root, 'password');
  writeFileSync(password, TEST_PASSWORD, { mode: 0o600 });
  const env = { ...sb.env, PRISM_PASSWORD_FILE: password, PRISM_KDF_MINIMUM: '1' };
  const init = prism(['init', '--encrypt', '--json'], env);
  assert.equal(init.code, 0, init.stderr + init.stdout);
  return { sb, env };
}

function start(env: Record<string, string>): StartResult {
  const r = prism(['start', '--json'], env);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const s = json<StartResult>(r);
  started.push(s.pid);
  return s;
}

function stop(env: Record<string, string>, pid: number): void {
  const r: CliResult = prism(['stop'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(processAlive(pid), false);
}

/** Every file of the repository (locks included) with the SHA-256 of its content. */
function listing(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(dir, prefix))) {
    const rel = join(prefix, n);
    if (statSync(join(dir, rel)).isDirectory()) out.push(`${rel}/`, ...listing(dir, rel));
    else
      out.push(
        `${rel} ${createHash('sha256')
          .update(readFileSync(join(dir, rel)))
          .digest('hex')}`,
      );
  }
  return out.sort();
}

describe('the service on an encrypted repository', () => {
  it('a scheduled backup completes with the password from PRISM_PASSWORD_FILE; status and tasks show it', async () => {
    const { sb, env } = encryptedHome();
    const s = start(env);
    const done = await waitFor('a scheduled full backup in the task log', () => readTasks(sb.home).find((t) => t.job === 'full_backup' && t.status === 'ok'));
    assert.equal(done.trigger, 'scheduled');

    const status = json<ServiceStatus>(prism(['status', '--json'], env));
    assert.deepEqual([status.running, status.pid], [true, s.pid]);
    const job = status.jobs.find((j) => j.job === 'full_backup')!;
    assert.equal(job.last?.status, 'ok');
    const tasks = json<{ tasks: TaskRecord[] }>(prism(['tasks', '--job', 'full_backup', '--json'], env)).tasks;
    assert.ok(
      tasks.some((t) => t.status === 'ok' && t.trigger === 'scheduled' && t.started_at === done.started_at),
      JSON.stringify(tasks),
    );
    assert.match(prism(['tasks', '--job', 'full_backup'], env).stdout, /full_backup +scheduled +ok /);
    stop(env, s.pid);

    const backups = json<Manifest[]>(prism(['backup', 'list', '--json'], env));
    const completed = backups.filter((m) => m.status === 'completed' && m.trigger === 'scheduled');
    assert.ok(completed.length >= 1, JSON.stringify(backups.map((m) => [m.id, m.status])));
    const verify = prism(['backup', 'verify', completed[0]!.id], env);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    // the manifests are sealed: no backup id or data path in them as plain text
    const manifest = readFileSync(
      join(
        sb.repo,
        'snapshots',
        readdirSync(join(sb.repo, 'snapshots')).find((n) => !n.startsWith('.tmp-'))!,
      ),
    );
    assert.equal(manifest.includes(sb.home), false);
  });

  it('with a wrong password the scheduled job fails with ERR_PRISM_WRONG_PASSWORD in the task log and an alert, the service runs on, and nothing is written into the repository', async () => {
    const { sb, env } = encryptedHome();
    const before = listing(sb.repo);
    const wrong = join(sb.root, 'wrong-password');
    writeFileSync(wrong, 'not the password', { mode: 0o600 });
    const bad = { ...env, PRISM_PASSWORD_FILE: wrong };
    const s = start(bad);
    const failed = await waitFor('two failed scheduled full backups', () => {
      const f = readTasks(sb.home).filter((t) => t.job === 'full_backup' && t.status === 'failed');
      return f.length >= 2 && f;
    });
    for (const t of failed) assert.equal(t.error_code, 'ERR_PRISM_WRONG_PASSWORD', JSON.stringify(t));
    assert.equal(processAlive(s.pid), true, 'the service keeps running');
    const status = json<ServiceStatus>(prism(['status', '--json'], bad));
    assert.deepEqual([status.running, status.pid, status.jobs.find((j) => j.job === 'full_backup')?.last?.status], [true, s.pid, 'failed']);
    assert.match(prism(['tasks', '--job', 'full_backup'], bad).stdout, /full_backup +scheduled +failed +.*\[ERR_PRISM_WRONG_PASSWORD\]/);

    // the evaluation after each job raises an alert: nothing can be backed up or checked until the password is fixed
    const alert = await waitFor('the alert of the wrong password', () => activeAlerts(sb.home).find((a) => a.rule === 'repository_key'));
    assert.equal(alert.severity, 'critical');
    assert.match(alert.message, /ERR_PRISM_WRONG_PASSWORD/);
    assert.match(alert.fix, /PRISM_PASSWORD_FILE/);
    stop(bad, s.pid);
    assert.deepEqual(listing(sb.repo), before, 'the repository is as it was');

    // the right password: the alert resolves at the next evaluation
    const fixed = prism(['alerts', '--json'], env);
    assert.equal(fixed.code, 0, fixed.stderr + fixed.stdout);
    assert.equal(
      json<{ active: Array<{ rule: string }> }>(fixed).active.some((a) => a.rule === 'repository_key'),
      false,
    );
  });
});
