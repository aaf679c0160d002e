import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PRISM_BIN, json, prism, sandbox, type Sandbox } from '../testing/fixtures.js';

const ROOT = new URL('../../', import.meta.url);
const BUNDLE = new URL('dist/bundle/', ROOT).href;
const MODULE_LOG = new URL('../testing/module-log.js', import.meta.url).href;

/** The compiled modules (e.g. `cli/main.js`) in each file of the bundle (esbuild's metafile). */
const bundled = (() => {
  const meta = JSON.parse(readFileSync(new URL('dist/bundle/meta.json', ROOT), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  return new Map(
    Object.entries(meta.outputs).map(([file, o]) => [
      new URL(file, ROOT).href,
      Object.keys(o.inputs)
        .filter((i) => i.startsWith('dist/'))
        .map((i) => i.slice('dist/'.length)),
    ]),
  );
})();

/** Runs `prism ARGS` and returns, besides its result, the compiled modules of prism it loaded (through the bundle files it loaded). */
function prismModules(args: string[], sb: Sandbox): { code: number; stdout: string; modules: string[] } {
  const log = join(sb.root, 'modules.log');
  const r = spawnSync(process.execPath, ['--import', MODULE_LOG, PRISM_BIN, ...args], {
    env: { ...process.env, ...sb.env, PRISM_BACKUP_VERBOSE: '', PRISM_MODULE_LOG: log },
    encoding: 'utf8',
  });
  const urls = existsSync(log) ? readFileSync(log, 'utf8').split('\n') : [];
  const files = urls.filter((u) => u.startsWith(BUNDLE));
  assert.ok(files.length > 0, `prism ran from the bundle (dist/bundle/): ${urls.join(' ')}`);
  return { code: r.status ?? -1, stdout: r.stdout, modules: [...new Set(files.flatMap((f) => bundled.get(f) ?? []))] };
}

const under = (modules: string[], dirs: string[]) => modules.filter((m) => dirs.some((d) => m.startsWith(`${d}/`)));

describe('prism start-up: a command loads the modules it needs', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox();
  });
  afterEach(() => sb.cleanup());

  it('--version loads almost nothing of prism', () => {
    const r = prismModules(['--version'], sb);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '0.1.0\n');
    assert.ok(r.modules.includes('cli/main.js'), r.modules.join(' '));
    assert.ok(r.modules.length < 10, `${r.modules.length} modules: ${r.modules.join(' ')}`);
  });

  it('--help and an unknown flag load no use case, config or service module', () => {
    const help = prismModules(['--help'], sb);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^ {2}backup +create, inspect and manage backups$/m);
    assert.deepEqual(under(help.modules, ['app', 'daemon', 'config', 'snapshot', 'source', 'repo']), []);
    const flag = prismModules(['backup', 'list', '--bogus'], sb);
    assert.equal(flag.code, 2);
    assert.deepEqual(under(flag.modules, ['app', 'daemon', 'config', 'snapshot', 'source', 'repo']), []);
  });

  it("status reads the job table and the state files without loading the jobs' code", () => {
    const r = prismModules(['status'], sb);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^Service: not running/m);
    assert.ok(r.modules.includes('daemon/service-status.js'), r.modules.join(' '));
    assert.deepEqual(under(r.modules, ['snapshot', 'source', 'repo', 'backend']), [], r.modules.join(' '));
    assert.deepEqual(
      r.modules.filter((m) => /^app\/(create-backup|retention|background-verify|drill|mysql-archive-binlog|alerts)\.js$/.test(m)),
      [],
    );
  });

  it('backup list loads the listing, not the service, the database drivers or the archiver', () => {
    assert.equal(prism(['backup', 'create'], sb.env).code, 0);
    const r = prismModules(['backup', 'list'], sb);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ID .*\nbackup_\d{8}_\d{6}_full /);
    assert.ok(r.modules.includes('app/backups/list-backups.js'), r.modules.join(' '));
    assert.deepEqual(under(r.modules, ['daemon', 'source', 'snapshot']), []);
    assert.deepEqual(
      r.modules.filter((m) => m.startsWith('cli/commands/')),
      ['cli/commands/backup-list.js'],
    );
  });
});

describe('help and usage errors', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox();
  });
  afterEach(() => sb.cleanup());

  it('`prism help A B` prints the help of the subcommand, not of its group', () => {
    for (const [words, usage, option] of [
      [['backup', 'create'], 'prism backup create [options]', '--comment'],
      [['db', 'restore'], 'prism db restore [options] [backup-id]', '--target-url'],
      [['pg', 'wal', 'list'], 'prism pg wal list [options]', '--repo'],
    ] as const) {
      const r = prism(['help', ...words], sb.env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split('\n')[0], `Usage: ${usage}`);
      assert.match(r.stdout, new RegExp(`^ {2}${option}\\b`, 'm'));
      assert.deepEqual(r.stdout, prism([...words, '--help'], sb.env).stdout);
    }
    const group = prism(['help', 'backup'], sb.env);
    assert.equal(group.stdout.split('\n')[0], 'Usage: prism backup [options] [command]');
  });

  it('a typo is refused on one line, with its suggestion and the help of the command that refused it', () => {
    for (const [args, said] of [
      [['backup', 'craete'], "unknown command 'craete' (did you mean create?); run `prism backup --help` for usage"],
      [['bakup', 'list'], "unknown command 'bakup' (did you mean backup?); run `prism --help` for usage"],
      [['backup', 'list', '--limt', '3'], "unknown option '--limt' (did you mean --limit?); run `prism backup list --help` for usage"],
      [['pg', 'wal', 'lst'], "unknown command 'lst' (did you mean list?); run `prism pg wal --help` for usage"],
      [['help', 'bakup'], "unknown command 'bakup' (did you mean backup?); run `prism --help` for usage"],
      [['help', 'backup', 'craete'], "unknown command 'craete' (did you mean create?); run `prism backup --help` for usage"],
    ] as const) {
      const r = prism([...args], sb.env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}`);
      assert.deepEqual(r.stderr.split('\n'), [
        `Error [ERR_PRISM_ARGS] ${said}`,
        '  Fix: Check the command line; `prism help <command>` lists the accepted flags and values.',
        '',
      ]);
      const asJson = json<{ error: { code: string; message: string } }>(prism([...args, '--json'], sb.env));
      assert.deepEqual([asJson.error.code, asJson.error.message], ['ERR_PRISM_ARGS', said]);
    }
  });
});
