import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Manifest } from '../repo/index.js';
import { json, prism, sandbox, writeDataset, type CliResult, type Sandbox } from '../testing/fixtures.js';

const NOBODY = { uid: 65534, gid: 65534 };

/** One coded error on stderr (no stack, not a bug report), its message naming what is given. */
function refused(r: CliResult, exit: number, id: string, ...named: string[]): string {
  assert.equal(r.code, exit, r.stderr + r.stdout);
  const [line, fix, ...rest] = r.stderr.split('\n');
  assert.ok(line!.startsWith(`Error [${id}] `), r.stderr);
  assert.match(fix!, /^ {2}Fix: /);
  assert.deepEqual(rest, ['']);
  assert.doesNotMatch(r.stderr, /bug in prism|ERR_PRISM_INTERNAL|\n\s+at /);
  for (const n of named) assert.ok(line!.includes(n), `${JSON.stringify(line)} should name ${JSON.stringify(n)}`);
  return line!;
}

describe('system errors on the paths a user gives: coded errors naming the path and its setting', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 3 });
  });
  afterEach(() => sb.cleanup());

  it('ENOTDIR: a repository, a data directory and a restore target under a file', () => {
    const file = join(sb.root, 'a-file');
    writeFileSync(file, 'x');
    const repo = join(file, 'repo');
    for (const args of [
      ['backup', 'create'],
      ['backup', 'list'],
      ['backup', 'stats'],
    ]) {
      const line = refused(prism(args, { ...sb.env, PRISM_BACKUP_PATH: repo }), 44, 'ERR_PRISM_PATH', `${file} is a file, not a directory`);
      assert.ok(line.endsWith(`The repository's path is ${repo}, set by PRISM_BACKUP_PATH.`), line);
    }
    const asJson = json<{ error: Record<string, unknown> }>(prism(['backup', 'list', '--json'], { ...sb.env, PRISM_BACKUP_PATH: repo }));
    assert.deepEqual(
      [asJson.error.code, asJson.error.errno, asJson.error.role, asJson.error.setting],
      ['ERR_PRISM_PATH', 'ENOTDIR', 'repository', 'PRISM_BACKUP_PATH'],
    );
    assert.equal(existsSync(sb.repo), false);

    refused(prism(['init'], { ...sb.env, PRISM_HOME: join(file, 'home') }), 44, 'ERR_PRISM_PATH', `${file} is a file, not a directory`, 'set by PRISM_HOME');

    const m = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
    const target = join(file, 'restored');
    refused(
      prism(['backup', 'restore', m.id, '--target', target], sb.env),
      44,
      'ERR_PRISM_PATH',
      `${file} is a file, not a directory`,
      `The restore target's path is ${target}, set by --target.`,
    );
  });

  it('ENAMETOOLONG and ELOOP: a repository path too long, or through a symlink loop', () => {
    const long = join(sb.root, 'x'.repeat(300));
    refused(prism(['backup', 'create'], { ...sb.env, PRISM_BACKUP_PATH: long }), 44, 'ERR_PRISM_PATH', 'is too long', 'set by PRISM_BACKUP_PATH');
    symlinkSync(join(sb.root, 'loop-b'), join(sb.root, 'loop-a'));
    symlinkSync(join(sb.root, 'loop-a'), join(sb.root, 'loop-b'));
    for (const repo of [join(sb.root, 'loop-a'), join(sb.root, 'loop-a', 'repo')]) {
      refused(
        prism(['backup', 'create'], { ...sb.env, PRISM_BACKUP_PATH: repo }),
        44,
        'ERR_PRISM_PATH',
        'symbolic links',
        'loop',
        `The repository's path is ${repo}`,
      );
    }
  });

  it('EISDIR: a repository whose config.json is a directory, and config/backup.json that is one', () => {
    mkdirSync(join(sb.repo, 'config.json'), { recursive: true });
    refused(
      prism(['backup', 'list'], sb.env),
      44,
      'ERR_PRISM_PATH',
      `${join(sb.repo, 'config.json')} is a directory where a file is needed`,
      'set by PRISM_BACKUP_PATH',
    );
    mkdirSync(join(sb.home, 'config', 'backup.json'));
    const cfg = join(sb.home, 'config', 'backup.json');
    refused(prism(['backup', 'list'], sb.env), 3, 'ERR_PRISM_CONFIG', `Cannot read ${cfg}: ${cfg} is a directory where a file is needed.`, 'set by PRISM_HOME');
  });

  it('EACCES as another user: a repository, a config file and a restore target it may not use', () => {
    const m = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
    chmodSync(sb.root, 0o755);
    execFileSync('chown', ['-R', 'nobody:nogroup', sb.home]);
    chmodSync(sb.repo, 0o700); // root's
    refused(
      prism(['backup', 'list'], sb.env, NOBODY),
      12,
      'ERR_BACKUP_002',
      `permission denied on ${join(sb.repo, 'config.json')} for user nobody (uid 65534)`,
      'set by PRISM_BACKUP_PATH',
    );
    execFileSync('chown', ['-R', 'nobody:nogroup', sb.repo]);
    const closed = join(sb.root, 'closed');
    mkdirSync(closed, { mode: 0o755 });
    const target = join(closed, 'restored');
    refused(prism(['backup', 'restore', m.id, '--target', target], sb.env, NOBODY), 12, 'ERR_BACKUP_002', `permission denied on ${target}`, 'set by --target');
    const cfg = join(sb.home, 'config', 'backup.json');
    writeFileSync(cfg, '{}');
    chownSync(cfg, 0, 0);
    chmodSync(cfg, 0o600);
    refused(prism(['backup', 'list'], sb.env, NOBODY), 3, 'ERR_PRISM_CONFIG', `Cannot read ${cfg}: permission denied on ${cfg} for user nobody`);
  });

  it('EROFS: a repository on a read-only file system', () => {
    mkdirSync(sb.repo);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', sb.repo]);
    try {
      refused(
        prism(['backup', 'create'], sb.env),
        12,
        'ERR_BACKUP_002',
        'is on a read-only file system',
        `The repository's path is ${sb.repo}, set by PRISM_BACKUP_PATH.`,
      );
    } finally {
      execFileSync('umount', [sb.repo]);
    }
  });
});

describe('a missing or mistyped repository path', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 3 });
  });
  afterEach(() => sb.cleanup());

  it('read commands say so with one coded error naming the path, and create nothing', () => {
    const typo = join(sb.root, 'repo-typo');
    const env = { ...sb.env, PRISM_BACKUP_PATH: typo };
    for (const args of [
      ['backup', 'list'],
      ['backup', 'stats'],
      ['backup', 'failures'],
      ['backup', 'info', 'backup_20260207_020015_full'],
      ['backup', 'verify', '--all'],
    ]) {
      refused(
        prism(args, env),
        7,
        'ERR_PRISM_NO_REPO',
        `No prism repository at ${typo}: the directory does not exist.`,
        '`prism backup create` creates the repository',
      );
      const asJson = json<{ error: { code: string; path: string } }>(prism([...args, '--json'], env));
      assert.deepEqual([asJson.error.code, asJson.error.path], ['ERR_PRISM_NO_REPO', typo], args.join(' '));
    }
    mkdirSync(typo);
    refused(prism(['backup', 'list'], env), 7, 'ERR_PRISM_NO_REPO', `No prism repository at ${typo}: the directory holds no prism repository`);
    assert.deepEqual(readdirSync(typo), []);
  });

  it('the first backup says it created the repository; a missing parent directory is refused', () => {
    const nowhere = join(sb.root, 'no-such-dir', 'repo');
    refused(
      prism(['backup', 'create'], { ...sb.env, PRISM_BACKUP_PATH: nowhere }),
      7,
      'ERR_PRISM_NO_REPO',
      `its parent directory ${join(sb.root, 'no-such-dir')} does not exist`,
      'mkdir -p',
    );
    assert.equal(existsSync(join(sb.root, 'no-such-dir')), false, 'no parent was created');

    const first = prism(['backup', 'create'], sb.env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^Created a new repository at ${sb.repo} \\(the first backup there\\)\\.\\nBackup completed: `));
    const second = prism(['backup', 'create', '--json'], sb.env);
    assert.deepEqual(
      [json<{ repository: string; repository_created: boolean }>(second).repository_created, json<{ repository: string }>(second).repository],
      [false, sb.repo],
    );
    assert.doesNotMatch(prism(['backup', 'create'], sb.env).stdout, /Created a new repository/);

    const other = join(sb.root, 'repo-2');
    const created = json<Manifest & { repository: string; repository_created: boolean }>(
      prism(['backup', 'create', '--json'], { ...sb.env, PRISM_BACKUP_PATH: other }),
    );
    assert.deepEqual([created.status, created.repository, created.repository_created], ['completed', other, true]);
    assert.equal(json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env)).length, 3);
  });
});
