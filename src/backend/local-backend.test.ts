import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

import path from 'node:path';
import { describe, it } from 'node:test';
import { namesOf } from './backend.js';
import { ObjectNotFoundError } from './store-error.js';
import { LocalBackend } from './local-backend.js';
import { tempRootForFile } from '../testing/fixtures.js';
import { backendConformance } from '../testing/backend-conformance.js';

const tempRoot = tempRootForFile();

let n = 0;
function fresh(): { backend: LocalBackend; dir: string } {
  const dir = path.join(tempRoot(), `b-${n++}`);
  return { backend: new LocalBackend(dir), dir };
}

/** Every file below dir (relative, '/'-separated), temp files included. */
function allFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) =>
      path
        .relative(dir, path.join(d.parentPath ?? (d as unknown as { path: string }).path, d.name))
        .split(path.sep)
        .join('/'),
    )
    .sort();
}

const tempFiles = (dir: string): string[] => allFiles(dir).filter((f) => path.posix.basename(f).startsWith('.tmp-'));

describe('LocalBackend', () => {
  it('reports its tempRoot() as location', () => {
    const { backend, dir } = fresh();
    assert.equal(backend.location, dir);
    assert.equal(backend.root, dir);
  });

  it('put / get round-trip, creating folders, as real files', async () => {
    const { backend, dir } = fresh();
    const data = Buffer.from('hello prism');
    await backend.put('snapshots/backup_1.json', data);
    assert.ok((await backend.get('snapshots/backup_1.json')).equals(data));
    assert.ok(fs.readFileSync(path.join(dir, 'snapshots', 'backup_1.json')).equals(data));
    await backend.put('data/ab/abcdef', new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await backend.get('data/ab/abcdef'))], [1, 2, 3]);
  });

  it('put accepts a list of parts and writes them in order', async () => {
    const { backend } = fresh();
    const parts = [Buffer.from('PRISM'), Buffer.alloc(0), Buffer.from('PK1'), new Uint8Array(100_000).fill(7)];
    await backend.put('data/00/parts', parts);
    const got = await backend.get('data/00/parts');
    assert.ok(got.equals(Buffer.concat(parts)));
    assert.equal(await backend.size('data/00/parts'), 8 + 100_000);
  });

  it('put writes empty objects', async () => {
    const { backend } = fresh();
    await backend.put('x/empty', Buffer.alloc(0));
    assert.equal(await backend.exists('x/empty'), true);
    assert.equal((await backend.get('x/empty')).length, 0);
    assert.equal(await backend.size('x/empty'), 0);
  });

  it('put replaces an existing object atomically and leaves no temp files', async () => {
    const { backend, dir } = fresh();
    await backend.put('config.json', Buffer.from('{"v":1}'));
    await backend.put('config.json', Buffer.from('{"v":2,"longer":true}'));
    assert.equal((await backend.get('config.json')).toString(), '{"v":2,"longer":true}');
    // many concurrent writers of the same object: the result is one of them, whole
    const bodies = Array.from({ length: 20 }, (_, i) => Buffer.alloc(10_000 + i, i));
    await Promise.all(bodies.map((b) => backend.put('race/obj', b)));
    const got = await backend.get('race/obj');
    assert.ok(
      bodies.some((b) => b.equals(got)),
      'the object is one complete write',
    );
    assert.deepEqual(tempFiles(dir), []);
    assert.deepEqual(allFiles(dir), ['config.json', 'race/obj']);
  });

  it('getRange reads a slice; past the end is an error', async () => {
    const { backend } = fresh();
    const data = Buffer.from('0123456789abcdef');
    await backend.put('r/obj', data);
    assert.equal((await backend.getRange('r/obj', 0, 4)).toString(), '0123');
    assert.equal((await backend.getRange('r/obj', 10, 6)).toString(), 'abcdef');
    assert.equal((await backend.getRange('r/obj', 5, 0)).length, 0);
    await assert.rejects(backend.getRange('r/obj', 10, 7), /short read/);
    await assert.rejects(backend.getRange('r/missing', 0, 1), ObjectNotFoundError);
  });

  it('exists / size / delete', async () => {
    const { backend } = fresh();
    assert.equal(await backend.exists('a/b'), false);
    await backend.put('a/b', Buffer.alloc(1234));
    assert.equal(await backend.exists('a/b'), true);
    assert.equal(await backend.size('a/b'), 1234);
    await backend.delete('a/b');
    assert.equal(await backend.exists('a/b'), false);
    await backend.delete('a/b'); // deleting a missing object is fine
    await assert.rejects(backend.size('a/b'), ObjectNotFoundError);
  });

  it('get of a missing object throws ObjectNotFoundError naming it', async () => {
    const { backend } = fresh();
    await assert.rejects(backend.get('snapshots/nope.json'), (e: unknown) => {
      assert.ok(e instanceof ObjectNotFoundError);
      assert.equal(e.objectName, 'snapshots/nope.json');
      assert.equal(e.name, 'ObjectNotFoundError');
      assert.match(e.message, /snapshots\/nope\.json/);
      return true;
    });
  });

  it('list returns sorted names recursively, relative to the tempRoot() with /', async () => {
    const { backend } = fresh();
    const names = ['data/ff/ff01', 'data/00/0001', 'data/00/0002', 'data/7a/7abc', 'index/beef', 'snapshots/s1.json'];
    for (const name of names) await backend.put(name, Buffer.from(name));
    assert.deepEqual(namesOf(await backend.list('data')), ['data/00/0001', 'data/00/0002', 'data/7a/7abc', 'data/ff/ff01']);
    assert.deepEqual(namesOf(await backend.list('index')), ['index/beef']);
    assert.deepEqual(namesOf(await backend.list('data/00')), ['data/00/0001', 'data/00/0002']);
    assert.deepEqual(namesOf(await backend.list('')), [...names].sort());
  });

  it('list of a missing prefix returns []', async () => {
    const { backend } = fresh();
    assert.deepEqual(namesOf(await backend.list('locks')), []);
    await backend.put('data/00/x', Buffer.from('x'));
    assert.deepEqual(namesOf(await backend.list('locks')), []);
    assert.deepEqual(namesOf(await backend.list('data/zz')), []);
  });

  it('list never shows temp files', async () => {
    const { backend, dir } = fresh();
    await backend.put('data/00/real', Buffer.from('r'));
    fs.writeFileSync(path.join(dir, 'data', '00', '.tmp-0123456789abcdef'), 'partial');
    assert.deepEqual(namesOf(await backend.list('data')), ['data/00/real']);
    // while a put is running, its temp file is never listed
    const big = Buffer.alloc(2 * 1024 * 1024, 1);
    const writes = Array.from({ length: 4 }, (_, i) => backend.put(`data/01/obj${i}`, big));
    const seen: string[][] = [];
    for (let i = 0; i < 5; i++) seen.push(namesOf(await backend.list('data')));
    await Promise.all(writes);
    for (const names of seen) for (const name of names) assert.ok(!path.posix.basename(name).startsWith('.tmp-'), name);
    assert.deepEqual(namesOf(await backend.list('data/01')), ['data/01/obj0', 'data/01/obj1', 'data/01/obj2', 'data/01/obj3']);
  });

  it('putIfAbsent creates once, then returns false and keeps the first content', async () => {
    const { backend } = fresh();
    assert.equal(await backend.putIfAbsent('locks/backup.json', Buffer.from('first')), true);
    assert.equal(await backend.putIfAbsent('locks/backup.json', Buffer.from('second')), false);
    assert.equal((await backend.get('locks/backup.json')).toString(), 'first');
    await backend.delete('locks/backup.json');
    assert.equal(await backend.putIfAbsent('locks/backup.json', Buffer.from('third')), true);
    assert.equal((await backend.get('locks/backup.json')).toString(), 'third');
  });

  it('putIfAbsent lets exactly one of many concurrent callers win', async () => {
    const { backend } = fresh();
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => backend.putIfAbsent('locks/x.json', Buffer.from(`w${i}`))));
    assert.equal(results.filter(Boolean).length, 1);
    const winner = results.indexOf(true);
    assert.equal((await backend.get('locks/x.json')).toString(), `w${winner}`);
  });

  it('rejects names that escape the tempRoot()', async () => {
    const { backend } = fresh();
    await assert.rejects(backend.put('../outside', Buffer.from('x')), /invalid object name/);
    await assert.rejects(backend.get('/etc/passwd'), /invalid object name/);
    await assert.rejects(backend.put('data/../../x', Buffer.from('x')), /invalid object name/);
    assert.equal(fs.existsSync(path.join(tempRoot(), 'outside')), false);
  });

  it('space() returns positive numbers, also before the tempRoot() exists', async () => {
    const { backend, dir } = fresh();
    assert.equal(fs.existsSync(dir), false);
    const s = await backend.space();
    assert.ok(s);
    assert.ok(s.total > 0);
    assert.ok(s.free > 0);
    assert.ok(s.free <= s.total);
    await backend.put('x', Buffer.from('x'));
    const s2 = await backend.space();
    assert.ok(s2 && s2.total > 0 && s2.free > 0);
  });

  it('openAtomic streams into a hidden temp file and appears whole at commit', async () => {
    const { backend, dir } = fresh();
    const w = backend.openAtomic('data');
    w.write(Buffer.from('PRISMPK1'));
    w.write(new Uint8Array(50_000).fill(3));
    assert.equal(w.bytes, 50_008);
    assert.equal(tempFiles(dir).length, 1);
    assert.deepEqual(namesOf(await backend.list('data')), []);
    await w.commit('data/ab/abcd');
    assert.deepEqual(tempFiles(dir), []);
    assert.deepEqual(namesOf(await backend.list('data')), ['data/ab/abcd']);
    const got = await backend.get('data/ab/abcd');
    assert.equal(got.length, 50_008);
    assert.equal(got.subarray(0, 8).toString(), 'PRISMPK1');
  });

  it('openAtomic abort leaves nothing behind', async () => {
    const { backend, dir } = fresh();
    const w = backend.openAtomic('data');
    w.write(Buffer.from('partial'));
    await w.abort();
    assert.deepEqual(allFiles(dir), []);
    assert.deepEqual(namesOf(await backend.list('data')), []);
  });

  it('removeUnfinished deletes temp files only', async () => {
    const { backend, dir } = fresh();
    await backend.put('data/00/keep', Buffer.from('k'));
    const crashed = backend.openAtomic('data');
    crashed.write(Buffer.from('left by a crash'));
    fs.writeFileSync(path.join(dir, 'data', '00', '.tmp-feedfacefeedface'), 'old');
    assert.equal(tempFiles(dir).length, 2);
    assert.equal(await backend.removeUnfinished('data'), 2);
    assert.deepEqual(allFiles(dir), ['data/00/keep']);
    assert.equal(await backend.removeUnfinished('nothing-here'), 0);
    await crashed.abort(); // closes its descriptor
  });

  it("removeUnfinished 'own' leaves the temp files of other live processes and of unknown owners", async () => {
    const { backend, dir } = fresh();
    const mine = backend.openAtomic('data');
    mine.write(Buffer.from('this process'));
    const [own] = tempFiles(dir);
    assert.match(path.posix.basename(own!), new RegExp(`^\\.tmp-[0-9a-f]{8}-${process.pid}-[0-9a-f]{16}$`));
    const hostTag = path.posix.basename(own!).split('-')[1]!;
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // exited: its pid is free
    const live = process.ppid; // the test runner: alive while this test runs
    const put = (name: string) => fs.writeFileSync(path.join(dir, 'data', name), 'x');
    put(`.tmp-${hostTag}-${dead}-0123456789abcdef`);
    put(`.tmp-${hostTag}-${live}-0123456789abcdef`);
    put(`.tmp-00000000-${dead}-0123456789abcdef`); // another host: its pids mean nothing here
    put('.tmp-0123456789abcdef'); // no owner in the name
    assert.equal(await backend.removeUnfinished('data', 'own'), 2);
    assert.deepEqual(
      tempFiles(dir)
        .map((f) => path.posix.basename(f))
        .sort(),
      [`.tmp-${hostTag}-${live}-0123456789abcdef`, '.tmp-0123456789abcdef', `.tmp-00000000-${dead}-0123456789abcdef`].sort(),
    );
    assert.equal(await backend.removeUnfinished('data'), 3);
    await mine.abort();
  });
});

let conformanceDirs = 0;
backendConformance('local disk', {
  make: async () => new LocalBackend(path.join(tempRoot(), `conformance-${conformanceDirs++}`)),
});
