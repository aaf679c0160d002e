import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBackup } from '../app/backups/create-backup.js';
import type { Manifest } from '../repo/index.js';
import { appContext, json, prism, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';

/** Read-only commands over one small repository (set up once; no test changes it except where noted). */
describe('prism CLI: verify, chain, dependencies, ls, diff, dump: arguments and missing repositories', () => {
  let sb: Sandbox;
  let m: Manifest;
  before(async () => {
    sb = sandbox();
    writeDataset(sb.home, { files: 4 });
    m = await createBackup(appContext(sb), { type: 'full' });
  });
  after(() => sb.cleanup());

  it('every inspection command on a repository path that does not exist is ERR_PRISM_NO_REPO (exit 7) and creates nothing', () => {
    const nothing = join(sb.root, 'nothing');
    const env = { ...sb.env, PRISM_BACKUP_PATH: nothing };
    const id = m.id;
    for (const args of [
      ['verify', id],
      ['verify', '--all'],
      ['chain', id],
      ['dependencies', id],
      ['ls', id],
      ['diff', id, id],
      ['dump', id, 'config/gateway.json'],
    ]) {
      const r = prism(['backup', ...args], env);
      assert.equal(r.code, 7, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(`^Error \\[ERR_PRISM_NO_REPO\\] No prism repository at ${nothing}: the directory does not exist\\. `, 'm'),
        args.join(' '),
      );
      assert.equal(r.stdout, '', args.join(' '));
    }
    assert.equal(existsSync(nothing), false, 'no repository or lock directory created');
    const j = prism(['backup', 'chain', id, '--json'], env);
    assert.equal(j.code, 7);
    assert.equal(json<{ error: { code: string } }>(j).error.code, 'ERR_PRISM_NO_REPO');
  });

  it('verify: wrong flags and values are ERR_PRISM_ARGS (exit 2)', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /Name the backup to verify \(`prism backup list`\), or pass --all\./],
      [[m.id, '--all'], /Give a backup id or --all, not both\./],
      [[m.id, '--read-data-subset', '0%'], /--read-data-subset "0%": use a percentage/],
      [[m.id, '--read-data-subset', '3/2'], /--read-data-subset "3\/2": use a percentage/],
      [[m.id, '--read-data-subset', 'abc'], /--read-data-subset "abc": use a percentage/],
    ];
    for (const [args, msg] of cases) {
      const r = prism(['backup', 'verify', ...args], sb.env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^Error \[ERR_PRISM_ARGS\] /m, args.join(' '));
      assert.match(r.stderr, msg, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
    const j = prism(['backup', 'verify', '--json'], sb.env);
    assert.equal(j.code, 2);
    assert.equal(json<{ error: { code: string } }>(j).error.code, 'ERR_PRISM_ARGS');
    // the valid forms are accepted
    for (const subset of ['2/7']) {
      const r = prism(['backup', 'verify', m.id, '--read-data-subset', subset], sb.env);
      assert.equal(r.code, 0, `${subset}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), `${m.id}: status: completed, checksum: verified`);
    }
  });

  it('chain, ls and diff refuse an id that is not a backup id (exit 4) without touching other files', () => {
    for (const args of [
      ['chain', '../../etc/passwd'],
      ['ls', '../config'],
      ['diff', m.id, '../config'],
    ]) {
      const r = prism(['backup', ...args], sb.env);
      assert.equal(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^Error \[ERR_PRISM_NOT_FOUND\] ".*" is not a backup id/m, args.join(' '));
    }
  });

  it('verify refuses an id that is not a backup id with ERR_PRISM_NOT_FOUND (exit 4), like info does', () => {
    for (const id of ['../../etc/passwd']) {
      const r = prism(['backup', 'verify', id], sb.env);
      assert.equal(r.code, 4, `${id}: ${r.stderr}`);
      assert.match(r.stderr, /^Error \[ERR_PRISM_NOT_FOUND\] ".*" is not a backup id/m, id);
      assert.doesNotMatch(r.stderr, /ERR_PRISM_INTERNAL/);
    }
  });

  it('verify --all with a damaged manifest still verifies the other backups and names the damaged file', () => {
    const damaged = join(sb.repo, 'snapshots', 'backup_20200101_000000_full.json');
    writeFileSync(damaged, '{"format": 1, "id": ');
    try {
      const r = prism(['backup', 'verify', '--all'], sb.env);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout, new RegExp(`^${m.id}: status: completed, checksum: verified$`, 'm'), r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /snapshots\/backup_20200101_000000_full\.json/);
    } finally {
      // leave the shared repository as the other tests expect it
      rmSync(damaged);
    }
  });
});
