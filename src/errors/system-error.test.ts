import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ERROR_CODES } from './codes.js';
import { PrismError } from './prism-error.js';
import { asPrismError, describeSystemError, fromSystemError } from './system-error.js';

const root = mkdtempSync(join(tmpdir(), 'prism-syserr-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The error a real call throws. */
function thrown(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  throw new Error('expected the call to fail');
}

/** An error as Node gives it for a call on `path`, for the errors a test cannot cause on demand. */
function errno(code: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated${path ? `, open '${path}'` : ''}`), { code, errno: -1, syscall: 'open', ...(path ? { path } : {}) });
}

describe('system errors on paths: one translation to the registry', () => {
  it('real errors: ENOTDIR names the file in the way, ENAMETOOLONG, ELOOP, EISDIR name the path', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const notDir = describeSystemError(thrown(() => readFileSync(join(file, 'repo', 'config.json'))));
    assert.deepEqual(notDir && [notDir.code, notDir.errno, notDir.says], [
      'PATH_UNUSABLE',
      'ENOTDIR',
      `${file} is a file, not a directory (in ${join(file, 'repo', 'config.json')})`,
    ]);

    const long = join(root, 'x'.repeat(300));
    const tooLong = describeSystemError(thrown(() => mkdirSync(long)));
    assert.deepEqual(tooLong && [tooLong.code, tooLong.says], ['PATH_UNUSABLE', `${long} is too long (a name over 255 bytes, or the whole path over 4096)`]);

    symlinkSync(join(root, 'loop-b'), join(root, 'loop-a'));
    symlinkSync(join(root, 'loop-a'), join(root, 'loop-b'));
    const loop = describeSystemError(thrown(() => readFileSync(join(root, 'loop-a', 'config.json'))));
    assert.deepEqual(loop && [loop.code, loop.says], ['PATH_UNUSABLE', `the symbolic links in ${join(root, 'loop-a', 'config.json')} loop (or nest too deep)`]);

    mkdirSync(join(root, 'dir'));
    const isDir = describeSystemError(thrown(() => openSync(join(root, 'dir'), 'w')));
    assert.deepEqual(isDir && [isDir.code, isDir.says], ['PATH_UNUSABLE', `${join(root, 'dir')} is a directory where a file is needed`]);
    // a read of an open directory names no path: the caller's is used
    const read = describeSystemError(
      thrown(() => readFileSync(join(root, 'dir'))),
      join(root, 'dir'),
    );
    assert.equal(read?.says, `${join(root, 'dir')} is a directory where a file is needed`);
  });

  it('every errno a user path or the system can cause maps to a coded error naming the path', () => {
    const p = '/srv/backups/data/ab/.tmp-1';
    const cases: Array<[string, keyof typeof ERROR_CODES, RegExp]> = [
      ['EACCES', 'PERMISSION_DENIED', /^permission denied on \/srv\/backups\/data\/ab\/\.tmp-1 for (user \S+ \(uid \d+\)|uid \d+)$/],
      ['EPERM', 'PERMISSION_DENIED', /^permission denied on \/srv\/backups\/data\/ab\/\.tmp-1 for /],
      ['EROFS', 'PERMISSION_DENIED', /^\/srv\/backups\/data\/ab\/\.tmp-1 is on a read-only file system$/],
      ['ENOSPC', 'DISK_SPACE_INSUFFICIENT', /^no space left on the device of \/srv\/backups\/data\/ab\/\.tmp-1$/],
      ['EDQUOT', 'DISK_SPACE_INSUFFICIENT', /^the disk quota of .* is used up on the device of \/srv\/backups\/data\/ab\/\.tmp-1$/],
      ['EMFILE', 'OPEN_FILES_LIMIT', /^too many open files \(opening \/srv\/backups\/data\/ab\/\.tmp-1\): the process limit is reached$/],
      ['ENFILE', 'OPEN_FILES_LIMIT', /^too many open files \(opening \/srv\/backups\/data\/ab\/\.tmp-1\): the system limit is reached$/],
      ['ENOTDIR', 'PATH_UNUSABLE', /^a part of \/srv\/backups\/data\/ab\/\.tmp-1 is not a directory$/],
      ['ENAMETOOLONG', 'PATH_UNUSABLE', /is too long/],
      ['ELOOP', 'PATH_UNUSABLE', /loop/],
      ['EISDIR', 'PATH_UNUSABLE', /is a directory where a file is needed/],
    ];
    for (const [code, mapped, says] of cases) {
      const m = describeSystemError(errno(code, p));
      assert.ok(m, code);
      assert.equal(m.code, mapped, code);
      assert.match(m.says, says, code);
      const e = fromSystemError(errno(code, p), 'writing the backup');
      assert.ok(e instanceof PrismError, code);
      assert.equal(e.code, mapped);
      assert.equal(e.message, `${ERROR_CODES[mapped].title} while writing the backup: ${m.says}.`);
      assert.deepEqual(e.details, { path: p, errno: code });
      assert.notEqual(asPrismError(errno(code, p)).code, 'INTERNAL', code);
    }
    assert.equal(describeSystemError(errno('EACCES'))?.says.startsWith('permission denied for '), true, 'a signal, not a path');
  });

  it('anything else is not a path problem: unchanged, and INTERNAL only at the top', () => {
    for (const e of [errno('ECONNRESET'), new Error('boom'), 'text', null]) {
      assert.equal(describeSystemError(e), undefined);
      assert.equal(fromSystemError(e, 'x'), e);
    }
    assert.equal(asPrismError(new Error('boom')).code, 'INTERNAL');
    const coded = new PrismError('REPO_LOCKED', 'held');
    assert.equal(fromSystemError(coded, 'x'), coded);
    assert.equal(asPrismError(coded), coded);
  });
});
