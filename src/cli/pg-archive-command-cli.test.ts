import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { prism, sandbox, type Sandbox } from '../testing/fixtures.js';

describe('prism pg archive-command', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox();
  });
  afterEach(() => sb.cleanup());

  it('prints both lines through the launcher, a --repo with a quote and a space quoted for the shell and for postgresql.conf', () => {
    const repo = join(sb.root, "it's a repo");
    const r = prism(['pg', 'archive-command', '--repo', repo], sb.env);
    assert.equal(r.code, 0, r.stderr);
    const [archive, restore] = r.stdout.trim().split('\n');
    // postgresql.conf doubles the single quote; the shell word inside is '…'\''…'
    const word = `'${repo.replace(/'/g, `'\\''`)}'`.replace(/'/g, "''");
    assert.ok(archive!.startsWith("archive_command = '") && archive!.endsWith(`archive-wal %p --repo ${word}'`), archive);
    assert.ok(restore!.startsWith("restore_command = '") && restore!.endsWith(`restore-wal %f %p --repo ${word}'`), restore);
    // the build makes the launcher (build-native.mjs); the lines name it by its full path
    assert.match(archive!, /\/dist\/cli\/wal-launcher\/prism-wal archive-wal /);
  });

  it('refuses an unknown option with a usage error, printing no line to paste', () => {
    const r = prism(['pg', 'archive-command', '--rep', '/x'], sb.env);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /archive_command/);
    assert.match(r.stderr, /unknown option/i);
  });
});
