import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pidFile, processAlive, readTasks, type TaskRecord } from '../app/index.js';
import type { ServiceStatus, StartResult } from '../daemon/index.js';
import { readServiceState } from '../daemon/index.js';
import type { Manifest } from '../repo/index.js';
import { json, prism, prismAsync, prngBytes, sandbox, writeDataset, type Sandbox, waitFor } from '../testing/fixtures.js';
import { parseMetrics } from '../testing/prometheus.js';
import { parseStrictJson } from '../testing/strict-json.js';

const boxes: Sandbox[] = [];
const started: number[] = [];
after(() => {
  for (const pid of started) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  boxes.forEach((b) => b.cleanup());
});

function home(backup: Record<string, unknown>, files = 10): Sandbox {
  const sb = sandbox();
  boxes.push(sb);
  writeDataset(sb.home, { files });
  writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup }));
  return sb;
}

function start(sb: Sandbox): StartResult {
  const r = prism(['start', '--json'], sb.env);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const s = json<StartResult>(r);
  started.push(s.pid);
  return s;
}

/** A service on 96 MiB of data whose scheduled full backup is mid-way: recorded as running, its first pack landed. */
async function serviceMidBackup(): Promise<{ sb: Sandbox; env: Record<string, string>; s: StartResult }> {
  const sb = home({ schedule: { full_backup: '* * * * * *' }, service: { metrics_address: '' } }, 4);
  for (let i = 0; i < 12; i++) writeFileSync(join(sb.home, 'level-3-cold', `blob-${i}.bin`), prngBytes(8 * 1024 * 1024, i + 7));
  const env = { ...sb.env, PRISM_BACKUP_CONCURRENCY: '1' };
  const s = start({ ...sb, env });
  await waitFor('a running backup with a pack written', () => {
    const snaps = existsSync(join(sb.repo, 'snapshots')) ? readdirSync(join(sb.repo, 'snapshots')) : [];
    const running = snaps.some((f) => f.endsWith('.json') && JSON.parse(readFileSync(join(sb.repo, 'snapshots', f), 'utf8')).status === 'running');
    const packs = existsSync(join(sb.repo, 'data'))
      ? readdirSync(join(sb.repo, 'data'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith('.tmp-'))
      : [];
    return running && packs.length > 0;
  });
  return { sb, env, s };
}

const nodeProcess = (args: string[]) => spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('prism start / status / tasks / stop: a real service', () => {
  it('runs a scheduled job, reports it in status, tasks and /metrics, refuses a second start and a restore, and stops', async () => {
    const sb = home({ schedule: { full_backup: '* * * * * *' }, service: { metrics_address: '127.0.0.1:0' } });
    const s = start(sb);
    assert.equal(readFileSync(pidFile(sb.home), 'utf8').trim(), String(s.pid));
    assert.match(s.metrics_address!, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(s.metrics_address, '127.0.0.1:0');
    const done = await waitFor('a scheduled full backup in the task log', () => readTasks(sb.home).find((t) => t.job === 'full_backup' && t.status === 'ok'));
    assert.equal(done.trigger, 'scheduled');

    const status = json<ServiceStatus>(prism(['status', '--json'], sb.env));
    assert.equal(status.running, true);
    assert.equal(status.pid, s.pid);
    assert.equal(status.metrics_address, s.metrics_address);
    assert.ok(status.uptime_seconds! >= 0);
    const job = status.jobs.find((j) => j.job === 'full_backup')!;
    assert.equal(job.schedule, '* * * * * *');
    assert.ok(Date.parse(job.next_run!) > Date.parse(done.started_at));
    assert.equal(job.last?.status, 'ok');
    assert.deepEqual(
      status.jobs.map((j) => j.job),
      ['full_backup', 'incremental_backup', 'cleanup', 'verify', 'drill'],
    );
    const text = prism(['status'], sb.env);
    assert.match(text.stdout, new RegExp(`Service: running \\(pid ${s.pid}, up `));
    assert.match(text.stdout, /JOB +SCHEDULE +NEXT RUN +LAST RUN +RESULT\nfull_backup +\* \* \* \* \* \* /);

    const backups = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    const completed = backups.find((m) => m.status === 'completed')!;
    assert.equal(completed.trigger, 'scheduled');
    const res = await fetch(`http://${s.metrics_address}/metrics`);
    assert.equal(res.status, 200);
    const m = parseMetrics(await res.text());
    assert.ok(m.get('prism_job_runs_total{job="full_backup",status="ok"}')! >= 1);
    assert.equal(m.get('prism_backup_last_files{type="full"}'), completed.stats.files);
    assert.ok(m.get('prism_backup_last_success_timestamp_seconds{type="full"}')! >= Date.parse(completed.finished_at!) / 1000);
    assert.equal(m.get('prism_alerts_active{severity="critical"}'), 0);

    const again = prism(['start'], sb.env);
    assert.equal(again.code, 24);
    assert.match(again.stderr, new RegExp(`Error \\[ERR_PRISM_ALREADY_RUNNING\\] The prism service is already running \\(pid ${s.pid}\\)`));
    assert.equal(json<{ error: { code: string; pid: number } }>(prism(['start', '--json'], sb.env)).error.pid, s.pid);
    const restore = prism(['backup', 'restore', completed.id, '--confirm'], sb.env);
    assert.equal(restore.code, 16, restore.stderr);
    assert.match(restore.stderr, /ERR_PRISM_SERVICE_RUNNING/);

    const tasks = json<{ days: number; tasks: TaskRecord[] }>(prism(['tasks', '--json'], sb.env));
    assert.equal(tasks.days, 7);
    assert.ok(tasks.tasks.length >= 1);
    assert.ok(
      tasks.tasks.every((t, i) => i === 0 || t.started_at <= tasks.tasks[i - 1]!.started_at),
      'newest first',
    );
    const listed = prism(['tasks', '--job', 'full_backup'], sb.env);
    assert.match(listed.stdout, /^STARTED +JOB +TRIGGER +STATUS +DURATION +RESULT\n.*full_backup +scheduled +(ok|failed|aborted) /);
    assert.match(prism(['tasks', '--job', 'cleanup'], sb.env).stdout, /No tasks in the last 7 days for cleanup/);

    const stop = prism(['stop'], sb.env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`Stopped the prism service \\(pid ${s.pid}\\)`));
    assert.equal(processAlive(s.pid), false);
    assert.equal(existsSync(pidFile(sb.home)), false);
    assert.ok(readServiceState(sb.home)!.stopped_at);
    assert.equal(json<ServiceStatus>(prism(['status', '--json'], sb.env)).running, false);
    assert.match(prism(['status'], sb.env).stdout, /^Service: not running/);
    assert.ok(
      readTasks(sb.home).every((t) => t.status === 'ok' || t.status === 'aborted'),
      'every run ended ok or was aborted by the stop',
    );
  });

  it('copies after every scheduled backup: the copy job is in tasks, status and /metrics, and the copy holds the backups', async () => {
    const sb = home({
      schedule: { full_backup: '* * * * * *' },
      service: { metrics_address: '127.0.0.1:0' },
      copies: [{ name: 'second-disk', repository: 'second-disk', after_backup: true }],
    });
    const s = start(sb);
    const copied = await waitFor('a copy after a scheduled backup in the task log', () =>
      readTasks(sb.home).find((t) => t.job === 'copy:second-disk' && t.status === 'ok'),
    );
    const backup = readTasks(sb.home).find((t) => t.job === 'full_backup' && t.status === 'ok')!;
    assert.deepEqual([copied.trigger, copied.details?.requested_by, copied.details?.copy], ['follow-up', 'full_backup', 'second-disk']);
    assert.ok(Date.parse(copied.started_at) >= Date.parse(backup.finished_at));
    assert.equal(copied.details?.copied, 1);
    assert.deepEqual(copied.details?.backups, [backup.details?.backup_id]);
    assert.ok(Number(copied.details?.bytes) > 0, JSON.stringify(copied));

    const tasks = json<{ tasks: TaskRecord[] }>(prism(['tasks', '--job', 'copy', '--json'], sb.env)).tasks;
    assert.ok(tasks.length >= 1 && tasks.every((t) => t.job === 'copy:second-disk'), JSON.stringify(tasks));
    assert.match(
      prism(['tasks', '--job', 'copy:second-disk'], sb.env).stdout,
      /^\S+ \S+ +copy:second-disk +follow-up +ok +.* 1 backup\(s\) copied to second-disk \(/m,
    );
    const status = json<ServiceStatus>(prism(['status', '--json'], sb.env));
    const job = status.jobs.find((j) => j.job === 'copy:second-disk')!;
    assert.deepEqual([job.schedule, job.after, job.next_run], [null, ['full_backup', 'incremental_backup'], null]);
    assert.ok(job.last, 'its last run');
    assert.match(prism(['status'], sb.env).stdout, /^copy:second-disk +after full_backup\/incremental_backup +- /m);
    const m = parseMetrics(await (await fetch(`http://${s.metrics_address}/metrics`)).text());
    assert.ok(m.get('prism_job_runs_total{job="copy:second-disk",status="ok"}')! >= 1);
    assert.equal(m.get('prism_copy_last_run_ok{copy="second-disk"}'), 1);
    assert.ok(m.get('prism_copy_bytes_total{copy="second-disk"}')! > 0);
    assert.ok(m.get('prism_copy_last_success_timestamp_seconds{copy="second-disk"}')! >= Date.parse(copied.finished_at) / 1000 - 1);

    assert.equal(prism(['stop'], sb.env).code, 0);
    const inCopy = json<Manifest[]>(prism(['backup', 'list', '--repo', 'second-disk', '--json'], sb.env)).map((b) => b.id);
    assert.ok(inCopy.includes(String(backup.details?.backup_id)), inCopy.join());
  });

  it('SIGTERM mid-backup: the job is aborted and recorded as such, and no partial backup is visible', async () => {
    const { sb, s } = await serviceMidBackup();
    process.kill(s.pid, 'SIGTERM');
    await waitFor('the service to exit', () => !processAlive(s.pid));
    const [task, ...rest] = readTasks(sb.home);
    assert.deepEqual(rest, [], 'only the one run');
    assert.deepEqual([task!.job, task!.status, task!.error_code], ['full_backup', 'aborted', 'ERR_PRISM_INTERRUPTED']);
    const backups = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.deepEqual(
      backups.map((b) => [b.status, b.error?.code]),
      [['failed', 'ERR_PRISM_INTERRUPTED']],
    );
    const leftovers = readdirSync(join(sb.repo, 'data'), { recursive: true, withFileTypes: true }).filter((e) => e.name.startsWith('.tmp-'));
    assert.deepEqual(leftovers, [], 'unfinished packs removed');
    assert.equal(existsSync(pidFile(sb.home)), false);
    assert.match(readFileSync(join(sb.home, 'logs', 'service.log'), 'utf8'), /"event":"service.stop"/);
  });

  it('kill -9 mid-backup: the job shows as interrupted after the next start, once', async () => {
    const { sb, env, s } = await serviceMidBackup();
    const running = readServiceState(sb.home)!.running_job!;
    process.kill(s.pid, 'SIGKILL');
    await waitFor('the service to die', () => !processAlive(s.pid));
    assert.deepEqual(readTasks(sb.home), [], 'nothing recorded by the killed service');

    // restarted with a schedule that runs nothing now
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({ backup: { schedule: { full_backup: '0 0 1 1 *' }, service: { metrics_address: '' } } }),
    );
    const again = start({ ...sb, env });
    const tasks = json<{ tasks: TaskRecord[] }>(prism(['tasks', '--json'], env)).tasks;
    assert.deepEqual(
      tasks.map((t) => [t.job, t.trigger, t.status, t.started_at, t.error_code]),
      [['full_backup', 'scheduled', 'interrupted', running.started_at, 'ERR_PRISM_INTERRUPTED']],
    );
    assert.match(tasks[0]!.message!, new RegExp(`the service \\(pid ${s.pid}\\) ended while the job ran`));
    assert.match(prism(['tasks'], env).stdout, /full_backup +scheduled +interrupted +.*\[ERR_PRISM_INTERRUPTED\]/);
    assert.equal(prism(['stop'], env).code, 0);
    assert.equal(processAlive(again.pid), false);
    start({ ...sb, env });
    assert.equal(prism(['stop'], env).code, 0);
    assert.equal(readTasks(sb.home).length, 1, 'recorded once');
  });

  it('every log file is one JSON object per line, no key twice: the service output, a failed start, jobs and commands', async () => {
    const sb = home({ schedule: { full_backup: '* * * * * *' }, service: { metrics_address: '127.0.0.1:0' } });
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    const config = (address: string) =>
      writeFileSync(
        join(sb.home, 'config', 'backup.json'),
        JSON.stringify({ backup: { schedule: { full_backup: '* * * * * *' }, service: { metrics_address: address }, dashboard: { listen: '' } } }),
      );
    config(`127.0.0.1:${port}`);
    try {
      assert.equal(prism(['start'], sb.env).code, 27, 'the service fails to start: its error goes to the log');
    } finally {
      taken.close();
    }
    config('127.0.0.1:0');
    const s = start(sb);
    await waitFor('a scheduled full backup in the task log', () => readTasks(sb.home).find((t) => t.job === 'full_backup' && t.status === 'ok'));
    assert.equal(prism(['backup', 'list'], sb.env).code, 0);
    assert.equal(prism(['stop'], sb.env).code, 0);
    assert.equal(processAlive(s.pid), false);

    const logs = readdirSync(join(sb.home, 'logs'))
      .filter((f) => f !== 'gateway.log') // the gateway's own (writeDataset)
      .sort();
    for (const f of ['backup.log', 'events.log', 'service.log', 'tasks.log']) assert.ok(logs.includes(f), `${f} in ${logs.join(', ')}`);
    for (const f of logs) {
      const lines = readFileSync(join(sb.home, 'logs', f), 'utf8').split('\n');
      assert.equal(lines.pop(), '', `${f} ends with a newline`);
      for (const line of lines) {
        const v = parseStrictJson(line);
        assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${f}: not a JSON object: ${line}`);
      }
    }
    const service = readFileSync(join(sb.home, 'logs', 'service.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      service.some((l) => l.level === 50 && /^Error \[ERR_PRISM_METRICS_ADDRESS\]/.test(String(l.msg))),
      'the failed start',
    );
    assert.ok(service.some((l) => l.stream === 'stdout' && l.msg === `prism service running (pid ${s.pid}); metrics on http://${s.metrics_address}/metrics`));
    assert.deepEqual(
      service.filter((l) => l.pid === s.pid && (l.event === 'service.start' || l.event === 'service.stop')).map((l) => l.event),
      ['service.start', 'service.stop'],
    );
  });

  it('a stale pid file: status says so, stop and start remove it; stop with nothing running', async () => {
    const sb = home({ service: { metrics_address: '' } });
    const dead = deadPid();
    writeFileSync(pidFile(sb.home), `${dead}\n`);
    const status = json<ServiceStatus>(prism(['status', '--json'], sb.env));
    assert.deepEqual([status.running, status.stale_pid_file], [false, true]);
    assert.match(prism(['status'], sb.env).stdout, /stale pid file/);
    const stop = prism(['stop'], sb.env);
    assert.equal(stop.code, 0);
    assert.match(
      stop.stdout,
      new RegExp(`Removed a stale pid file \\(pid ${dead} is no longer running\\)\\.\\nThe prism service is not running in .*; nothing to stop\\.`),
    );
    assert.equal(existsSync(pidFile(sb.home)), false);
    const nothing = prism(['stop', '--json'], sb.env);
    assert.equal(nothing.code, 0);
    assert.deepEqual(json(nothing), { stopped: false, pid: null, stale_pid: null, waited_ms: 0 });

    writeFileSync(pidFile(sb.home), `${dead}\n`);
    const r = prism(['start'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Removed a stale pid file \\(pid ${dead} is no longer running\\)\\.\\nprism service started \\(pid (\\d+)\\)`));
    const pid = Number(readFileSync(pidFile(sb.home), 'utf8'));
    started.push(pid);
    assert.equal(processAlive(pid), true);
    const stop2 = prism(['stop'], sb.env);
    assert.equal(stop2.code, 0, stop2.stderr);
    assert.equal(processAlive(pid), false);
    assert.equal(existsSync(pidFile(sb.home)), false);
  });

  it('a config broken after the start: status, tasks and drill --history work, stop stops the service', async () => {
    const sb = home({ service: { metrics_address: '' } });
    const s = start(sb);
    writeFileSync(join(sb.home, 'config', 'backup.json'), '{"backup": {"schedule": {,}}}');
    const status = prism(['status'], sb.env);
    assert.equal(status.code, 3, status.stderr);
    assert.match(status.stdout, new RegExp(`^Service: running \\(pid ${s.pid}`));
    assert.match(status.stdout, /Jobs: not shown, the configuration is invalid \(the running service keeps the one it started with/);
    assert.match(status.stderr, /Error \[ERR_PRISM_CONFIG\] .*backup\.json, line 1, column 26: not valid JSON \(in backup\.schedule\)/);
    const asJson = prism(['status', '--json'], sb.env);
    assert.equal(asJson.code, 3);
    const st = json<ServiceStatus>(asJson);
    assert.deepEqual([st.running, st.pid, st.jobs, st.config_error?.code], [true, s.pid, [], 'ERR_PRISM_CONFIG']);
    assert.equal(prism(['tasks'], sb.env).code, 0);
    assert.equal(prism(['drill', '--history'], sb.env).code, 0);
    const stop = prism(['stop'], sb.env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`Stopped the prism service \\(pid ${s.pid}\\)`));
    assert.equal(processAlive(s.pid), false);
    assert.equal(existsSync(pidFile(sb.home)), false);
  });

  it('stop --timeout: a service that does not exit in time is reported with its pid', async () => {
    const sb = home({ service: { metrics_address: '' } });
    // a process that ignores SIGTERM, as a service stuck in a job would
    const stuck = nodeProcess(['-e', "process.on('SIGTERM', () => console.log('SIGTERM')); console.log('ready'); setInterval(() => {}, 1000)"]);
    started.push(stuck.pid!);
    let said = '';
    stuck.stdout!.on('data', (d) => (said += d));
    await waitFor('the process to be ready', () => said.includes('ready'));
    writeFileSync(pidFile(sb.home), `${stuck.pid}\n`);
    const r = prism(['stop', '--timeout', '300ms'], sb.env);
    assert.equal(r.code, 26, r.stderr + r.stdout);
    assert.match(r.stderr, new RegExp(`Error \\[ERR_PRISM_SERVICE_STOP\\] The prism service \\(pid ${stuck.pid}\\) is still running \\d+ s after SIGTERM\\.`));
    await waitFor('SIGTERM to arrive', () => said.includes('SIGTERM'));
    assert.equal(processAlive(stuck.pid!), true);
    stuck.kill('SIGKILL');
  });

  it('start --foreground runs in the process and stops on SIGINT', async () => {
    const sb = home({ service: { metrics_address: '127.0.0.1:0' } });
    const child = prismAsync(['start', '--foreground'], sb.env);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await waitFor('the ready line', () => /prism service running \(pid \d+\); metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/.test(stdout));
    assert.equal(readFileSync(pidFile(sb.home), 'utf8').trim(), String(child.pid));
    const address = readServiceState(sb.home)!.metrics_address!;
    assert.equal((await fetch(`http://${address}/healthz`)).status, 200);
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.match(stdout, /prism service stopped\n$/);
    assert.equal(existsSync(pidFile(sb.home)), false);
  });

  it('refuses bad input with a clear error and its code', async () => {
    const sb = home({ schedule: { full_backup: 'every night' } });
    const cron = prism(['start'], sb.env);
    assert.equal(cron.code, 3);
    assert.match(cron.stderr, /ERR_PRISM_CONFIG\] backup\.schedule\.full_backup = "every night": not a cron expression/);
    assert.equal(prism(['status'], sb.env).code, 3);

    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (taken.address() as { port: number }).port;
      writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { service: { metrics_address: `127.0.0.1:${port}` } } }));
      const inUse = prism(['start'], sb.env);
      assert.equal(inUse.code, 27, inUse.stderr);
      assert.match(
        inUse.stderr,
        new RegExp(
          `ERR_PRISM_METRICS_ADDRESS\\] The service did not start: The metrics address 127\\.0\\.0\\.1:${port} \\(backup\\.service\\.metrics_address\\) is in use`,
        ),
      );
      assert.equal(existsSync(pidFile(sb.home)), false);
    } finally {
      taken.close();
    }

    const missing = prism(['start'], { ...sb.env, PRISM_HOME: join(sb.root, 'nope') });
    assert.equal(missing.code, 13);
    assert.match(missing.stderr, /ERR_BACKUP_003\].*does not exist; run `prism init` first/);
    assert.equal(existsSync(join(sb.root, 'nope')), false);
    for (const args of [
      ['start', '--timeout', 'soon'],
      ['stop', '--timeout', 'x'],
      ['status', '--bogus'],
      ['tasks', '--days', '0'],
      ['tasks', '--job', 'nightly'],
    ]) {
      const r = prism([...args, '--json'], sb.env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(json<{ error: { code: string } }>(r).error.code, 'ERR_PRISM_ARGS');
    }
    assert.match(prism(['tasks', '--job', 'nightly'], sb.env).stderr, /--job "nightly" is not a job; jobs: full_backup, incremental_backup, cleanup/);
    assert.match(prism(['tasks'], sb.env).stdout, /^No tasks in the last 7 days\.$/m);
  });
});
