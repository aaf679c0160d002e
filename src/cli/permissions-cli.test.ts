import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { processAlive, readTasks } from '../app/index.js';
import type { StartResult } from '../daemon/index.js';
import type { Manifest } from '../repo/index.js';
import { PRISM_BIN, json, sandbox, type CliResult, type Sandbox, waitFor } from '../testing/fixtures.js';

const boxes: Sandbox[] = [];
const started: number[] = [];
after(() => {
  for (const pid of started) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  boxes.forEach((b) => b.cleanup());
});

/** `prism ARGS` under the given umask. */
function prismUmask(umask: string, args: string[], env: Record<string, string>): CliResult {
  const r = spawnSync('/bin/sh', ['-c', 'umask "$1"; shift; exec "$@"', 'sh', umask, process.execPath, PRISM_BIN, ...args], {
    env: { ...process.env, ...env, PRISM_BACKUP_VERBOSE: '' },
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const modeOf = (p: string): string => `0${(lstatSync(p).mode & 0o777).toString(8)}`;

/** Every folder and file under `dir` (itself included) with its mode, except below `skip`. */
function modes(dir: string, skip: (path: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>([[dir, modeOf(dir)]]);
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (skip(p)) continue;
    if (lstatSync(p).isDirectory()) for (const [k, v] of modes(p, skip)) out.set(k, v);
    else out.set(p, modeOf(p));
  }
  return out;
}

function assertPrivate(found: Map<string, string>, what: string): void {
  const loose = [...found].filter(([p, m]) => m !== (lstatSync(p).isDirectory() ? '0700' : '0600'));
  assert.deepEqual(loose, [], `${what}: created 0700/0600`);
}

describe('what prism creates is private (0600 files, 0700 folders), whatever the umask', () => {
  for (const umask of ['022', '000']) {
    it(`umask ${umask}: init, backup, the service, a restore`, async () => {
      const sb = sandbox({ init: false });
      boxes.push(sb);
      const run = (args: string[]): CliResult => {
        const r = prismUmask(umask, args, sb.env);
        assert.ok(r.code === 0, `prism ${args.join(' ')}: exit ${r.code}\n${r.stderr}${r.stdout}`);
        return r;
      };
      run(['init']);
      const configFile = join(sb.home, 'config', 'backup.json');
      // the config keeps its mode when its content is replaced
      writeFileSync(configFile, JSON.stringify({ backup: { schedule: { full_backup: '* * * * * *' }, service: { metrics_address: '' } } }));
      // the service's data, with modes of its own
      mkdirSync(join(sb.home, 'level-1-hot', 'shared'));
      chmodSync(join(sb.home, 'level-1-hot', 'shared'), 0o755);
      writeFileSync(join(sb.home, 'level-1-hot', 'shared', 'public.txt'), 'public\n');
      chmodSync(join(sb.home, 'level-1-hot', 'shared', 'public.txt'), 0o644);
      writeFileSync(join(sb.home, 'level-2-warm', 'group.txt'), 'group\n');
      chmodSync(join(sb.home, 'level-2-warm', 'group.txt'), 0o664);

      run(['backup', 'create', '--comment', 'first']);
      const s = json<StartResult>(run(['start', '--json']));
      started.push(s.pid);
      await waitFor('a scheduled backup', () => readTasks(sb.home).some((t) => t.job === 'full_backup' && t.status === 'ok'));
      await waitFor('the alert state', () => existsSync(join(sb.home, 'state', 'alerts.json')));
      run(['stop']);
      const [latest] = json<Manifest[]>(run(['backup', 'list', '--json']));
      const target = join(sb.root, 'restored');
      run(['backup', 'restore', latest!.id, '--target', target]);
      run(['backup', 'verify', '--all']);
      run(['drill']);

      const dataFiles = (p: string) => /\/level-[123]-[a-z]+\/./.test(p.slice(sb.home.length));
      assertPrivate(modes(sb.home, dataFiles), 'PRISM_HOME');
      const home = modes(sb.home, dataFiles);
      for (const f of [
        'config/backup.json',
        'logs/backup.log',
        'logs/service.log',
        'logs/tasks.log',
        'logs/events.log',
        'logs/drills.log',
        'state/alerts.json',
        'prism-service.json',
      ]) {
        assert.equal(home.get(join(sb.home, f)), '0600', f);
      }
      for (const d of ['', 'level-1-hot', 'level-2-warm', 'level-3-cold', 'config', 'logs', 'state'])
        assert.equal(home.get(join(sb.home, d)), '0700', d || 'PRISM_HOME');
      const repo = modes(sb.repo);
      assert.ok(repo.size > 10, 'a repository with packs, index and snapshots');
      assertPrivate(repo, 'the repository');
      assert.equal(modeOf(target), '0700', 'a new restore target');
      // restored data keeps its backed-up modes
      assert.deepEqual(
        [
          modeOf(join(target, 'level-1-hot', 'shared')),
          modeOf(join(target, 'level-1-hot', 'shared', 'public.txt')),
          modeOf(join(target, 'level-2-warm', 'group.txt')),
        ],
        ['0755', '0644', '0664'],
      );
      assert.deepEqual(
        readdirSync(target).filter((n) => n.startsWith('.prism')),
        [],
        'no staging left',
      );
    });
  }

  it('warns once per command, with the fix, while a config holding a password is readable by others', () => {
    const sb = sandbox();
    boxes.push(sb);
    const configFile = join(sb.home, 'config', 'backup.json');
    const write = (backup: unknown, mode: number) => {
      writeFileSync(configFile, JSON.stringify({ backup }));
      chmodSync(configFile, mode);
    };
    const secret = { databases: [{ name: 'app', type: 'postgres', url: 'postgres://app:s3cret@127.0.0.1:5432/app' }] };
    write(secret, 0o644);
    const r = prismUmask('022', ['backup', 'policy', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(json(r), 'stdout stays JSON');
    assert.equal(
      r.stderr,
      `Warning: ${configFile} holds a password (backup.databases[0].url) and is readable by group or others (mode 0644); run \`chmod 600 ${configFile}\`\n`,
    );
    assert.doesNotMatch(r.stderr + readFileSync(join(sb.home, 'logs', 'backup.log'), 'utf8'), /s3cret/);
    assert.match(readFileSync(join(sb.home, 'logs', 'backup.log'), 'utf8'), /"event":"config.exposed".*"mode":"0644"/);
    chmodSync(configFile, 0o640);
    assert.match(prismUmask('022', ['backup', 'policy'], sb.env).stderr, /\(mode 0640\); run `chmod 600 /);

    chmodSync(configFile, 0o600);
    assert.equal(prismUmask('022', ['backup', 'policy'], sb.env).stderr, '', 'private: no warning');
    write({ databases: [{ name: 'app', type: 'postgres', url: 'postgres://app@127.0.0.1:5432/app', password_env: 'PGPASSWORD' }] }, 0o644);
    assert.equal(prismUmask('022', ['backup', 'policy'], sb.env).stderr, '', 'no password in the file: no warning');
  });
});
