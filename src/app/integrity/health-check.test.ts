import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loadConfig } from '../../config/index.js';
import { FixedClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import type { PrismError } from '../../errors/index.js';
import { appContext, json, prism, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { createBackup } from '../backups/create-backup.js';
import { checkDataHealth, type HealthReport } from './health-check.js';

/**
 * writeDataset's doc-N.json files hold JSON lines cut off mid-record (not one JSON document), which
 * the health check rightly reports as parse failures; wrap each in a JSON document so the data set is valid.
 */
function writeValidDataset(home: string): number {
  const n = writeDataset(home, { files: 9 });
  for (const level of ['level-1-hot', 'level-2-warm', 'level-3-cold']) {
    for (const f of readdirSync(join(home, level), { recursive: true }).map(String)) {
      if (f.endsWith('.json')) {
        const file = join(home, level, f);
        writeFileSync(file, JSON.stringify({ lines: readFileSync(file, 'utf8') }));
      }
    }
  }
  return n;
}

describe('health check data', () => {
  let sb: Sandbox;
  let n: number;
  beforeEach(() => {
    sb = sandbox();
    n = writeValidDataset(sb.home);
  });
  afterEach(() => sb.cleanup());

  it('a fresh data set is healthy: every file read and parsed, exit 0', async () => {
    const r = await checkDataHealth(appContext(sb), sb.env);
    assert.equal(r.healthy, true);
    assert.deepEqual(r.issues, []);
    assert.equal(r.home, sb.home);
    assert.equal(r.files, n, 'logs/ and temp/ are not part of the data');
    assert.equal(r.parsed, n, 'every file is JSON and parses');
    assert.equal(r.since_backup, null, 'no backup yet');
    assert.equal(r.recovered_restore, false);

    const cli = prism(['health', 'check', 'data'], sb.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`^Data directory: ${sb.home}$`, 'm'));
    assert.match(cli.stdout, new RegExp(`^ {2}Files: ${n} \\(.+\\) readable; ${n} JSON/YAML files parse$`, 'm'));
    assert.match(cli.stdout, /^ {2}No completed backup to compare with\.$/m);
    assert.match(cli.stdout, /^Status: healthy$/m);
  });

  it('a broken JSON and a broken YAML file: unhealthy, exit 1, both named with check "parse"', async () => {
    writeFileSync(join(sb.home, 'level-1-hot', 'broken.json'), '{"session": "abc", "user": ');
    writeFileSync(join(sb.home, 'level-2-warm', 'broken.yaml'), 'key: [unclosed\n');
    writeFileSync(join(sb.home, 'level-2-warm', 'good.yml'), 'key: [closed]\nother: 1\n');
    writeFileSync(join(sb.home, 'level-3-cold', 'notes.txt'), '{ not json, but not checked');
    const r = await checkDataHealth(appContext(sb), sb.env);
    assert.equal(r.healthy, false);
    assert.deepEqual(
      r.issues.map((i) => [i.path, i.check]),
      [
        ['level-1-hot/broken.json', 'parse'],
        ['level-2-warm/broken.yaml', 'parse'],
      ],
    );
    assert.match(r.issues[0]!.message, /^JSON: /);
    assert.match(r.issues[1]!.message, /^YAML: /);
    assert.equal(r.files, n + 4);
    assert.equal(r.parsed, n + 1, 'the good YAML file parses; the .txt file is not parsed');

    const cli = prism(['health', 'check', 'data'], sb.env);
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stdout, /^ {2}\[FAIL parse\] level-1-hot\/broken\.json: JSON: /m);
    assert.match(cli.stdout, /^ {2}\[FAIL parse\] level-2-warm\/broken\.yaml: YAML: /m);
    assert.match(cli.stdout, /^Status: UNHEALTHY \(2 problem\(s\)\)$/m);
    const j = prism(['health', 'check', 'data', '--json'], sb.env);
    assert.equal(j.code, 1);
    assert.deepEqual(json<HealthReport>(j).issues, r.issues);
  });

  it('a file the user cannot read is named with check "readable"', () => {
    const secret = join(sb.home, 'level-1-hot', 'secret.json');
    writeFileSync(secret, '{"secret":true}');
    const lockedDir = join(sb.home, 'level-3-cold', 'private');
    mkdirSync(lockedDir);
    writeFileSync(join(lockedDir, 'x.json'), '{}');
    execFileSync('chown', ['-R', '65534:65534', sb.root]);
    chmodSync(sb.root, 0o755);
    chownSync(secret, 0, 0);
    chmodSync(secret, 0o600);
    chownSync(lockedDir, 0, 0);
    chmodSync(lockedDir, 0o700);
    const r = prism(['health', 'check', 'data', '--json'], sb.env, { uid: 65534, gid: 65534 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const report = json<HealthReport>(r);
    assert.equal(report.healthy, false);
    const secretIssue = report.issues.find((i) => i.path === 'level-1-hot/secret.json');
    assert.ok(secretIssue, JSON.stringify(report.issues));
    assert.equal(secretIssue.check, 'readable');
    assert.match(secretIssue.message, /EACCES/);
    const dirIssue = report.issues.find((i) => i.path.endsWith('level-3-cold/private'));
    assert.ok(dirIssue, JSON.stringify(report.issues));
    assert.equal(dirIssue.check, 'readable');
    assert.equal(report.issues.length, 2, JSON.stringify(report.issues));
    // the same data read by root (the owner of both) is healthy
    assert.equal(prism(['health', 'check', 'data'], sb.env).code, 0);
  });

  it('a broken config/backup.json is reported as check "config" and the check still runs', async () => {
    const cfg = join(sb.home, 'config', 'backup.json');
    writeFileSync(cfg, JSON.stringify({ backup: { compression: { enabled: true, level: 'max' } } }));
    assert.throws(
      () => appContext(sb),
      (e: PrismError) => e.code === 'CONFIG_INVALID',
    );
    // as the CLI does: a context without the file, and the file reported by the check
    const ctx = { config: loadConfig(sb.env, { ignoreFile: true }), clock: new FixedClock(new Date()), logger: silentLogger };
    const r = await checkDataHealth(ctx, sb.env);
    assert.equal(r.healthy, false);
    assert.deepEqual(
      r.issues.map((i) => [i.path, i.check]),
      [[cfg, 'config']],
    );

    const cli = prism(['health', 'check', 'data', '--json'], sb.env);
    assert.equal(cli.code, 1, cli.stderr);
    const report = json<HealthReport>(cli);
    assert.deepEqual(report.issues, r.issues);
    assert.match(report.issues[0]!.message, /backup\.compression\.level = "max"/);
    assert.equal(report.files, n + 1, 'the data was still walked (backup.json included)');
    assert.equal(report.parsed, n + 1);

    // a config file that does not parse at all is one problem, the config's (not also a "parse" one)
    writeFileSync(cfg, '{"backup": {');
    const text = prism(['health', 'check', 'data'], sb.env);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, new RegExp(`^ {2}\\[FAIL config\\] ${cfg}: .*, line 1, column 13: not valid JSON \\(in backup\\)`, 'm'));
    assert.doesNotMatch(text.stdout, /FAIL parse/);
    assert.match(text.stdout, /^Status: UNHEALTHY \(1 problem\(s\)\)$/m);
    assert.deepEqual(
      json<HealthReport>(prism(['health', 'check', 'data', '--json'], sb.env)).issues.map((i) => [i.path, i.check]),
      [[cfg, 'config']],
    );
  });

  it('YAML streams are valid: several documents, and a directive after a document without "..." (as YAML 1.1 readers take it)', async () => {
    writeFileSync(join(sb.home, 'level-1-hot', 'stream.yaml'), 'a: 1\n---\nb: 2');
    writeFileSync(join(sb.home, 'level-1-hot', 'ended.yml'), 'a: 1\n...\n---\nb: [1, 2]\n...\n');
    writeFileSync(join(sb.home, 'level-2-warm', 'tagged.yaml'), 'first: 1\n%TAG ! tag:example.com,2002:\n--- !shape\n- !circle\n  radius: 7\n');
    writeFileSync(join(sb.home, 'level-2-warm', 'empty.yaml'), '');
    // real files that a data directory may hold: YAML 1.1 spec examples (32 documents, complex keys, tags) and JSON
    const examples = '/usr/share/doc/python3-yaml/examples/pygments-lexer/example.yaml';
    assert.ok(readFileSync(examples, 'utf8').includes('%TAG ! tag:clarkevans.com,2002:'), `${examples} (Debian python3-yaml) is the file of this test`);
    const docs = join(sb.home, 'level-3-cold', 'doc');
    mkdirSync(docs);
    cpSync(examples, join(docs, 'example.yaml'));
    cpSync('/usr/share/doc/nodejs/api/synopsis.json', join(docs, 'synopsis.json'));
    const r = await checkDataHealth(appContext(sb), sb.env);
    assert.deepEqual(r.issues, []);
    assert.equal(r.healthy, true);
    assert.equal(r.parsed, n + 6);
    const cli = prism(['health', 'check', 'data'], sb.env);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.equal(cli.stderr, '', 'no warning of the YAML library reaches the terminal');
  });

  it('a YAML file that truly does not parse: one problem, its document, line and column, no parser advice', async () => {
    writeFileSync(join(sb.home, 'level-1-hot', 'bad.yaml'), 'a: 1\n---\nb: [1, 2\nc: 3\n');
    writeFileSync(join(sb.home, 'level-1-hot', 'alias.yaml'), 'a: *nowhere\n');
    const r = await checkDataHealth(appContext(sb), sb.env);
    assert.deepEqual(r.issues, [
      { path: 'level-1-hot/alias.yaml', check: 'parse', message: 'YAML: Unresolved alias (the anchor must be set before the alias): nowhere' },
      {
        path: 'level-1-hot/bad.yaml',
        check: 'parse',
        message: 'YAML: document 2 of 2, line 4, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
      },
    ]);
  });

  it('lists what was added, modified and deleted since the latest backup; changes alone are healthy', async () => {
    const ctx = appContext(sb);
    const m = await createBackup(ctx, { type: 'full' });
    assert.deepEqual((await checkDataHealth(ctx, sb.env)).since_backup, { backup: m.id, added: [], modified: [], deleted: [] });

    writeFileSync(join(sb.home, 'level-1-hot', 'added.json'), '{"added":1}');
    mkdirSync(join(sb.home, 'level-2-warm', 'newdir'));
    writeFileSync(join(sb.home, 'level-2-warm', 'newdir', 'inner.json'), '{}');
    symlinkSync('added.json', join(sb.home, 'level-1-hot', 'link'));
    writeFileSync(join(sb.home, 'level-2-warm', 'shard-1', 'doc-1.json'), JSON.stringify({ lines: 'rewritten' }));
    rmSync(join(sb.home, 'level-3-cold', 'shard-2', 'doc-2.json'));
    rmSync(join(sb.home, 'level-3-cold', 'shard-1'), { recursive: true });

    const cli = prism(['health', 'check', 'data', '--json'], sb.env);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    const r = json<HealthReport>(cli);
    assert.equal(r.healthy, true);
    assert.deepEqual(r.since_backup, {
      backup: m.id,
      added: ['level-1-hot/added.json', 'level-1-hot/link', 'level-2-warm/newdir/inner.json'],
      modified: ['level-2-warm/shard-1/doc-1.json'],
      deleted: ['level-3-cold/shard-1', 'level-3-cold/shard-1/doc-5.json', 'level-3-cold/shard-2/doc-2.json'],
    });
    const text = prism(['health', 'check', 'data'], sb.env);
    assert.match(text.stdout, new RegExp(`^ {2}Since ${m.id}: 3 added, 1 modified, 3 deleted$`, 'm'));
  });

  it('a damaged manifest in the repository does not stop the data check', async () => {
    const ctx = appContext(sb);
    const m = await createBackup(ctx, { type: 'full' });
    writeFileSync(join(sb.repo, 'snapshots', 'backup_20200101_000000_full.json'), '{"format": 1, "id": ');
    const cli = prism(['health', 'check', 'data', '--json'], sb.env);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.equal(json<HealthReport>(cli).since_backup?.backup, m.id);
  });

  it('prism health check other is ERR_PRISM_ARGS (exit 2)', () => {
    const r = prism(['health', 'check', 'other'], sb.env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^Error \[ERR_PRISM_ARGS\] prism health check other: only "data" can be checked/m);
    assert.equal(r.stdout, '');
  });
});
