import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { sandbox, type Sandbox } from '../../testing/fixtures.js';
import { closeFile, createFile, finishFile, writeWholeFile } from './file-write.js';

describe('restored files written in one call', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox({ init: false });
    mkdirSync(sb.root, { recursive: true });
  });
  afterEach(() => sb.cleanup());

  it('writes the bytes, then mode and times to the nanosecond, over an existing file too', () => {
    const file = join(sb.root, 'a.json');
    writeFileSync(file, 'an older, longer content that must not survive');
    writeWholeFile(file, Buffer.from('{"ok":true}'), 11, 0o640, '1700000000123456789');
    const st = statSync(file, { bigint: true }); // before reading, which may move atime
    assert.equal(Number(st.mode & 0o7777n), 0o640);
    assert.equal(st.mtimeNs, 1700000000123456789n);
    assert.equal(st.atimeNs, 1700000000123456789n);
    assert.equal(readFileSync(file, 'utf8'), '{"ok":true}');
  });

  it('a file of zeros is a hole of its size, and an empty file is empty', () => {
    const hole = join(sb.root, 'hole');
    writeWholeFile(hole, null, 8 * 1024 * 1024, 0o600, '0');
    const st = statSync(hole);
    assert.equal(st.size, 8 * 1024 * 1024);
    assert.ok(st.blocks * 512 < 64 * 1024, `a hole takes no blocks (${st.blocks})`);
    const empty = join(sb.root, 'empty');
    writeWholeFile(empty, null, 0, 0o644, '-1000000001');
    assert.equal(statSync(empty).size, 0);
    assert.equal(statSync(empty, { bigint: true }).mtimeNs, -1000000001n);
  });

  it('never writes through a symlink put in the file’s place', () => {
    const outside = join(sb.root, 'outside');
    writeFileSync(outside, 'keep');
    const link = join(sb.root, 'link');
    symlinkSync(outside, link);
    assert.throws(() => writeWholeFile(link, Buffer.from('evil'), 4, 0o777, '0'), { code: 'ELOOP' });
    assert.throws(() => createFile(link), { code: 'ELOOP' });
    assert.equal(readFileSync(outside, 'utf8'), 'keep');
    assert.equal(statSync(outside).mode & 0o777, 0o644);
    assert.ok(lstatSync(link).isSymbolicLink());
  });

  it('a FIFO in the file’s place fails at once instead of waiting for a reader; a directory fails too', () => {
    const fifo = join(sb.root, 'fifo');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => writeWholeFile(fifo, Buffer.from('x'), 1, 0o600, '0'), { code: 'ENXIO' });
    assert.throws(() => createFile(fifo), { code: 'ENXIO' });
    const dir = join(sb.root, 'dir');
    mkdirSync(dir);
    assert.throws(() => writeWholeFile(dir, Buffer.from('x'), 1, 0o600, '0'), { code: 'EISDIR' });
  });

  it('a file written in parts: createFile, writes, finishFile; closeFile on failure leaves it unfinished', () => {
    const file = join(sb.root, 'parts');
    const fd = createFile(file);
    writeSync(fd, Buffer.from('hello '), 0, 6, 0);
    writeSync(fd, Buffer.from('world'), 0, 5, 6);
    finishFile(fd, file, 0o604, '1600000000000000001');
    assert.equal(readFileSync(file, 'utf8'), 'hello world');
    assert.equal(statSync(file).mode & 0o777, 0o604);
    assert.equal(statSync(file, { bigint: true }).mtimeNs, 1600000000000000001n);
    const other = join(sb.root, 'unfinished');
    closeFile(createFile(other), other);
    assert.equal(statSync(other).mode & 0o777, 0o600, 'created private until finished');
  });

  it('descriptors it opens and closes are never node:fs’s: no number is taken twice (threads share them)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 200; i++) {
        const file = join(sb.root, `f${i}`);
        if (i % 2 === 0) writeWholeFile(file, Buffer.from(String(i)), String(i).length, 0o600, '0');
        else finishFile(createFile(file), file, 0o600, '0');
        // node:fs now opens the number just freed
        const fd = openSync(file, 'r');
        closeSync(fd);
      }
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });
});
