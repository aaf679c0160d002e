/**
 * The one conformance suite every backend passes (local disk, memory, S3, Azure, SFTP, and the
 * wrappers): what the storage contract in backend/backend.ts promises, checked call by call.
 * Each backend's test file calls `backendConformance` with a factory that gives a fresh, empty
 * backend per test (its own bucket, container or folder).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { namesOf, type Backend, type ObjectInfo } from '../backend/backend.js';
import { isStoreError, ObjectNotFoundError } from '../backend/store-error.js';

/** name and size of each listed object (a store may add its version, which the contract leaves to it). */
const sized = (xs: readonly ObjectInfo[]) => xs.map(({ name, size }) => ({ name, size }));

export interface ConformanceOptions {
  /** A fresh empty backend for one test. */
  make(): Promise<Backend>;
  /** Called once after the suite (stop servers, remove buckets). */
  cleanup?(): Promise<void>;
  /** Bytes of the large-object case (default 20 MiB: more than one multipart part or SFTP window). */
  largeBytes?: number;
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

export function backendConformance(label: string, opts: ConformanceOptions): void {
  describe(`storage contract: ${label}`, () => {
    const opened: Backend[] = [];
    const fresh = async (): Promise<Backend> => {
      const b = await opts.make();
      opened.push(b);
      return b;
    };
    after(async () => {
      for (const b of opened) await b.close?.();
      await opts.cleanup?.();
    });

    it('put then get returns the same bytes; put replaces; parts are joined in order', async () => {
      const b = await fresh();
      await b.put('snapshots/a.json', text('first'));
      assert.deepEqual(await b.get('snapshots/a.json'), text('first'));
      await b.put('snapshots/a.json', [text('sec'), text('ond'), new Uint8Array(0)]);
      assert.deepEqual(await b.get('snapshots/a.json'), text('second'));
    });

    it('an empty object is an object', async () => {
      const b = await fresh();
      await b.put('state/empty', new Uint8Array(0));
      assert.equal((await b.get('state/empty')).length, 0);
      assert.equal(await b.exists('state/empty'), true);
      assert.equal(await b.size('state/empty'), 0);
      assert.deepEqual(sized(await b.list('state')), [{ name: 'state/empty', size: 0 }]);
    });

    it('a missing object: get, getRange and size throw ObjectNotFoundError naming it; exists is false; delete is no error', async () => {
      const b = await fresh();
      for (const call of [() => b.get('index/nope'), () => b.getRange('index/nope', 0, 1), () => b.size('index/nope')]) {
        await assert.rejects(call(), (e: unknown) => {
          assert.ok(e instanceof ObjectNotFoundError, String(e));
          assert.ok(isStoreError(e, 'not-found'));
          assert.equal(e.objectName, 'index/nope');
          return true;
        });
      }
      assert.equal(await b.exists('index/nope'), false);
      await b.delete('index/nope');
    });

    it('getRange returns exactly the bytes asked for, and never fewer', async () => {
      const b = await fresh();
      const data = randomBytes(100_000);
      await b.put('data/ab/abcdef', data);
      assert.deepEqual(await b.getRange('data/ab/abcdef', 0, 10), data.subarray(0, 10));
      assert.deepEqual(await b.getRange('data/ab/abcdef', 54_321, 12_345), data.subarray(54_321, 54_321 + 12_345));
      assert.deepEqual(await b.getRange('data/ab/abcdef', 99_990, 10), data.subarray(99_990));
      await assert.rejects(b.getRange('data/ab/abcdef', 99_990, 11), 'a range past the end is an error, not a short answer');
    });

    it('reads into a reused buffer, growing it when too small', async () => {
      const b = await fresh();
      const small = randomBytes(1000);
      const big = randomBytes(300_000);
      await b.put('data/00/small', small);
      await b.put('data/00/big', big);
      const into = { buffer: Buffer.alloc(10) };
      assert.deepEqual(await b.get('data/00/small', { into }), small);
      assert.deepEqual(await b.get('data/00/big', { into }), big);
      assert.deepEqual(await b.getRange('data/00/big', 1000, 200_000, { into }), big.subarray(1000, 201_000));
      assert.deepEqual(await b.get('data/00/small', { into }), small, 'a smaller object after a larger one');
    });

    it('lists recursively under a folder, sorted, with sizes; a prefix is a folder, not a string prefix', async () => {
      const b = await fresh();
      await b.put('data/01/0001', randomBytes(12));
      await b.put('data/00/0002', randomBytes(3));
      await b.put('data/00/0001', randomBytes(7));
      await b.put('database/x', text('x'));
      await b.put('index/i1', text('i'));
      await b.put('config.json', text('{}'));
      assert.deepEqual(sized(await b.list('data')), [
        { name: 'data/00/0001', size: 7 },
        { name: 'data/00/0002', size: 3 },
        { name: 'data/01/0001', size: 12 },
      ]);
      assert.deepEqual(namesOf(await b.list('data/00')), ['data/00/0001', 'data/00/0002']);
      assert.deepEqual(await b.list('nothing'), []);
      assert.deepEqual(namesOf(await b.list('')), ['config.json', 'data/00/0001', 'data/00/0002', 'data/01/0001', 'database/x', 'index/i1']);
    });

    it('lists more objects than one listing page holds', async () => {
      const b = await fresh();
      const names = Array.from({ length: 1100 }, (_, i) => `locks/l${String(i).padStart(5, '0')}`);
      for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n) => b.put(n, text(n))));
      const listed = await b.list('locks');
      assert.equal(listed.length, names.length);
      assert.deepEqual(namesOf(listed), names);
      assert.ok(listed.every((o, i) => o.size === names[i]!.length));
    });

    it('delete removes, and the object is gone from exists, get and list', async () => {
      const b = await fresh();
      await b.put('locks/a.json', text('a'));
      await b.put('locks/b.json', text('b'));
      await b.delete('locks/a.json');
      assert.equal(await b.exists('locks/a.json'), false);
      await assert.rejects(b.get('locks/a.json'), ObjectNotFoundError);
      assert.deepEqual(namesOf(await b.list('locks')), ['locks/b.json']);
    });

    it('putIfAbsent creates once, then answers false and leaves the object as it was', async () => {
      const b = await fresh();
      assert.equal(await b.putIfAbsent('locks/exclusive.json', text('one')), true);
      assert.equal(await b.putIfAbsent('locks/exclusive.json', text('two')), false);
      assert.deepEqual(await b.get('locks/exclusive.json'), text('one'));
    });

    it('putIfAbsent has exactly one winner among racing writers', async () => {
      const b = await fresh();
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => b.putIfAbsent('locks/backup.json', text(`writer ${i}`))));
      assert.equal(results.filter(Boolean).length, 1, `winners: ${results.map(String).join(',')}`);
      const winner = results.indexOf(true);
      assert.deepEqual(await b.get('locks/backup.json'), text(`writer ${winner}`));
    });

    it('openAtomic: nothing is visible before commit, the whole object after; bytes are taken at write', async () => {
      const b = await fresh();
      const w = b.openAtomic('data');
      const chunk = Buffer.alloc(64 * 1024, 7);
      const expected: Buffer[] = [];
      for (let i = 0; i < 20; i++) {
        chunk.fill(i);
        w.write(chunk); // the caller reuses its buffer at once
        expected.push(Buffer.from(chunk));
      }
      assert.equal(w.bytes, 20 * chunk.length);
      assert.deepEqual(await b.list('data'), [], 'invisible before commit');
      await w.commit('data/9f/9f00');
      assert.deepEqual(await b.get('data/9f/9f00'), Buffer.concat(expected));
      assert.deepEqual(sized(await b.list('data')), [{ name: 'data/9f/9f00', size: 20 * chunk.length }]);
    });

    it('openAtomic abort leaves nothing, and removeUnfinished leaves nothing of a write never finished', async () => {
      const b = await fresh();
      const w = b.openAtomic('data');
      w.write(randomBytes(1000));
      await w.abort();
      const left = b.openAtomic('data');
      left.write(randomBytes(1000)); // a process that dies here never commits
      await b.removeUnfinished('data', 'all');
      assert.deepEqual(await b.list('data'), []);
      assert.deepEqual(await b.list(''), []);
      await left.abort();
    });

    it('a large object round-trips whole, and reads in part at its end', async () => {
      const b = await fresh();
      const big = randomBytes(opts.largeBytes ?? 20 * 1024 * 1024);
      const w = b.openAtomic('data');
      for (let off = 0; off < big.length; off += 1024 * 1024) w.write(big.subarray(off, off + 1024 * 1024));
      await w.commit('data/ff/ffff');
      assert.equal(await b.size('data/ff/ffff'), big.length);
      assert.ok((await b.get('data/ff/ffff')).equals(big));
      assert.ok((await b.getRange('data/ff/ffff', big.length - 4096, 4096)).equals(big.subarray(big.length - 4096)));
    });

    it('names of every kind prism writes round-trip', async () => {
      const b = await fresh();
      const names = [
        'config.json',
        'keys/0123456789abcdef.json',
        'keyring/0000000001',
        'mysql/binlog/my%20db%2Fx/mariadb-bin.000001.json',
        'pg/wal/000000010000000000000001.partial.json',
        'snapshots/backup_20261207_120000_full.json',
        'damaged/ab.cd.json',
      ];
      for (const n of names) await b.put(n, text(n));
      for (const n of names) assert.deepEqual(await b.get(n), text(n), n);
      assert.deepEqual(namesOf(await b.list('mysql')), ['mysql/binlog/my%20db%2Fx/mariadb-bin.000001.json']);
    });

    it('refuses names that could leave the repository', async () => {
      const b = await fresh();
      for (const n of ['../escape', 'data/../../escape', '/abs', 'a//b', 'a/./b']) {
        await assert.rejects(b.put(n, text('x')), /invalid object name/, n);
      }
    });

    it('an aborted signal stops a call before it writes anything', async () => {
      const b = await fresh();
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(b.put('snapshots/aborted.json', text('x'), { signal: ac.signal }));
      await assert.rejects(b.putIfAbsent('locks/aborted.json', text('x'), { signal: ac.signal }));
      await assert.rejects(b.get('snapshots/aborted.json', { signal: ac.signal }));
      await assert.rejects(b.list('', { signal: ac.signal }));
      const w = b.openAtomic('data');
      w.write(text('pack'));
      await assert.rejects(w.commit('data/aa/aa01', { signal: ac.signal }));
      await w.abort().catch(() => undefined);
      await b.removeUnfinished('data', 'all');
      assert.deepEqual(await b.list(''), []);
    });

    it('a signal aborted during a large upload leaves no object', async () => {
      const b = await fresh();
      const ac = new AbortController();
      const w = b.openAtomic('data');
      const big = randomBytes(opts.largeBytes ?? 20 * 1024 * 1024);
      w.write(big);
      const commit = w.commit('data/bb/bb01', { signal: ac.signal });
      setImmediate(() => ac.abort());
      const done = await commit.then(
        () => 'committed',
        () => 'aborted',
      );
      await b.removeUnfinished('data', 'all');
      const listed = await b.list('data');
      // either it finished before the abort reached it (then whole) or nothing is there
      if (done === 'committed') assert.deepEqual(sized(listed), [{ name: 'data/bb/bb01', size: big.length }]);
      else assert.ok(listed.length === 0 || (listed.length === 1 && listed[0]!.size === big.length), JSON.stringify(listed));
    });
  });
}
