import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pgTool } from './pg-tools.js';

const dir = mkdtempSync(join(tmpdir(), 'prism-pgtools-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('pgTool', () => {
  it('starts the newest installed client directly instead of through pg_wrapper', () => {
    const psql = pgTool('psql');
    assert.ok(realpathSync('/usr/bin/psql').endsWith('pg_wrapper'), 'Debian installs psql as a link to pg_wrapper');
    assert.match(psql, /^\/usr\/lib\/postgresql\/\d+(\.\d+)?\/bin\/psql$/);
    const direct = spawnSync(psql, ['--version'], { encoding: 'utf8' });
    const wrapped = spawnSync('psql', ['--version'], { encoding: 'utf8' });
    assert.equal(direct.status, 0);
    assert.equal(direct.stdout, wrapped.stdout, 'the same client the wrapper picks');
  });

  it('leaves a tool that is not the wrapper, or not installed, as named', () => {
    const own = join(dir, 'psql');
    writeFileSync(own, '#!/bin/sh\necho mine\n');
    chmodSync(own, 0o755);
    assert.equal(pgTool('psql', { PATH: dir }), 'psql');
    assert.equal(pgTool('no_such_pg_tool', { PATH: dir }), 'no_such_pg_tool');
  });

  it('follows a link to the wrapper from anywhere on PATH', () => {
    const linkDir = join(dir, 'links');
    spawnSync('mkdir', ['-p', linkDir]);
    symlinkSync(realpathSync('/usr/bin/pg_dump'), join(linkDir, 'pg_dump'));
    const resolved = pgTool('pg_dump', { PATH: linkDir });
    assert.match(resolved, /\/bin\/pg_dump$/);
    assert.notEqual(resolved, join(linkDir, 'pg_dump'));
  });
});
