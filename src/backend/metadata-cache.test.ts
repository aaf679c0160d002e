import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { backendConformance } from '../testing/backend-conformance.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { tempRootForFile } from '../testing/fixtures.js';
import { MemoryBackend } from './memory-backend.js';
import { MetadataCache, metadataCacheDir } from './metadata-cache.js';
import { ObjectNotFoundError } from './store-error.js';

const tempRoot = tempRootForFile();
let n = 0;
const cacheDir = (): string => join(tempRoot(), `cache-${n++}`);

backendConformance('metadata cache over memory', { make: async () => new MetadataCache(new MemoryBackend(), cacheDir()) });

async function loadIndexFiles(b: MetadataCache): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const { name } of await b.list('index')) out.push(await b.get(name));
  return out;
}

describe('MetadataCache', () => {
  it('a second load of the index files fetches none of them; the copies are byte for byte', async () => {
    const mem = new MemoryBackend();
    const files = [Buffer.from('index one'), Buffer.from('index two, longer')];
    await mem.put('index/aa', files[0]!);
    await mem.put('index/bb', files[1]!);
    const dir = cacheDir();
    const first = new FaultyBackend(mem);
    assert.deepEqual(await loadIndexFiles(new MetadataCache(first, dir)), files);
    assert.deepEqual(first.calls, ['list index', 'get index/aa', 'get index/bb']);
    const second = new FaultyBackend(mem);
    const cache = new MetadataCache(second, dir);
    assert.deepEqual(await loadIndexFiles(cache), files);
    assert.deepEqual(second.calls, ['list index'], 'only the listing');
    assert.equal(cache.hits, 2);
  });

  it('an index file written through the cache is not fetched by the next command; other objects are not cached', async () => {
    const mem = new MemoryBackend();
    const dir = cacheDir();
    const writer = new MetadataCache(mem, dir);
    const body = Buffer.from('a new index file');
    await writer.put('index/dd', [body.subarray(0, 5), body.subarray(5)]);
    await writer.put('snapshots/backup_1.json', Buffer.from('{}'));
    assert.deepEqual(readdirSync(join(dir, 'index')), ['dd']);
    const next = new FaultyBackend(mem);
    assert.deepEqual(await loadIndexFiles(new MetadataCache(next, dir)), [body]);
    assert.deepEqual(next.calls, ['list index'], 'only the listing');
  });

  it('a pack range read with `keep` (a tree frame) is served from the copy the next time; other ranges are not kept', async () => {
    const mem = new MemoryBackend();
    const pack = `data/ab/${'ab'.repeat(32)}`;
    const bytes = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    await mem.put(pack, bytes);
    const dir = cacheDir();
    assert.deepEqual(await new MetadataCache(mem, dir).getRange(pack, 10, 6, { keep: true }), bytes.subarray(10, 16));
    const next = new FaultyBackend(mem);
    const cache = new MetadataCache(next, dir);
    assert.deepEqual(await cache.getRange(pack, 10, 6, { keep: true }), bytes.subarray(10, 16));
    assert.deepEqual(next.calls, [], 'served from the copy');
    assert.equal(cache.hits, 1);
    await cache.getRange(pack, 0, 4);
    await cache.getRange(pack, 0, 4);
    assert.deepEqual(next.calls, [`getRange ${pack}`, `getRange ${pack}`], 'a range without keep goes to the store each time');
    assert.deepEqual(await cache.getRange(pack, 10, 6, { keep: true, fresh: true }), bytes.subarray(10, 16));
    assert.equal(next.calls.length, 3, 'fresh reads the store');
  });

  it('a damaged kept range is fetched again; the ranges of a pack deleted, or not in a listing of data/, are removed', async () => {
    const mem = new MemoryBackend();
    const a = `data/aa/${'aa'.repeat(32)}`;
    const b = `data/bb/${'bb'.repeat(32)}`;
    await mem.put(a, Buffer.from('pack a holds trees'));
    await mem.put(b, Buffer.from('pack b holds trees'));
    const dir = cacheDir();
    const cache = new MetadataCache(mem, dir);
    await cache.getRange(a, 0, 6, { keep: true });
    await cache.getRange(b, 0, 6, { keep: true });
    const copy = join(dir, 'ranges', `${'aa'.repeat(32)}-0-6`);
    const flipped = readFileSync(copy);
    flipped[0] ^= 1;
    writeFileSync(copy, flipped);
    const counted = new FaultyBackend(mem);
    assert.deepEqual(await new MetadataCache(counted, dir).getRange(a, 0, 6, { keep: true }), Buffer.from('pack a'));
    assert.deepEqual(counted.calls, [`getRange ${a}`], 'refetched');
    await cache.delete(a);
    assert.deepEqual(readdirSync(join(dir, 'ranges')), [`${'bb'.repeat(32)}-0-6`]);
    await mem.delete(b); // removed by another process (a prune elsewhere)
    await cache.list('data');
    assert.deepEqual(readdirSync(join(dir, 'ranges')), []);
  });

  it('a damaged, truncated or deleted copy is fetched again and replaced; a wrong answer is never given', async () => {
    const mem = new MemoryBackend();
    const body = Buffer.from('the index file of record');
    await mem.put('index/cc', body);
    const dir = cacheDir();
    await loadIndexFiles(new MetadataCache(mem, dir));
    const copy = join(dir, 'index', 'cc');
    const flipped = readFileSync(copy);
    flipped[3] ^= 1;
    writeFileSync(copy, flipped);
    const counted = new FaultyBackend(mem);
    assert.deepEqual(await loadIndexFiles(new MetadataCache(counted, dir)), [body]);
    assert.ok(counted.calls.includes('get index/cc'), 'refetched');
    assert.deepEqual(await loadIndexFiles(new MetadataCache(mem, dir)), [body]);
    writeFileSync(copy, readFileSync(copy).subarray(0, 10));
    assert.deepEqual(await loadIndexFiles(new MetadataCache(mem, dir)), [body]);
    rmSync(dir, { recursive: true });
    assert.deepEqual(await loadIndexFiles(new MetadataCache(mem, dir)), [body]);
  });

  it('a copy of an object the store no longer lists is neither used nor kept', async () => {
    const mem = new MemoryBackend();
    await mem.put('index/dd', Buffer.from('gone soon'));
    const dir = cacheDir();
    await loadIndexFiles(new MetadataCache(mem, dir));
    await mem.delete('index/dd'); // behind prism's back (another host's prune)
    const cache = new MetadataCache(mem, dir);
    assert.deepEqual(await loadIndexFiles(cache), []);
    await assert.rejects(cache.get('index/dd'), ObjectNotFoundError);
    assert.deepEqual(readdirSync(join(dir, 'index')), []);
  });

  it('a copy is used only at the size the store lists (an object replaced under its name is fetched)', async () => {
    const mem = new MemoryBackend();
    await mem.put('index/ee', Buffer.from('first'));
    const dir = cacheDir();
    await loadIndexFiles(new MetadataCache(mem, dir));
    await mem.put('index/ee', Buffer.from('second, longer'));
    assert.deepEqual(await loadIndexFiles(new MetadataCache(mem, dir)), [Buffer.from('second, longer')]);
  });

  it('a record (manifest, key file) read with its listing entry comes from the copy when it has the listed MD5', async () => {
    const mem = new MemoryBackend('memory:', true);
    const dir = cacheDir();
    const manifest = Buffer.from('{"id":"backup_1"}');
    await new MetadataCache(mem, dir).put('snapshots/backup_1.json', manifest);
    await mem.put('keys/0123456789abcdef.json', Buffer.from('{"key":1}'));
    await new MetadataCache(mem, dir).put('keyring/0000000001', Buffer.from('sealed keyring'));
    const readAll = async (b: MetadataCache): Promise<Buffer[]> => {
      const out: Buffer[] = [];
      for (const folder of ['snapshots', 'keys', 'keyring']) for (const o of await b.list(folder)) out.push(await b.get(o.name, { listed: o }));
      return out;
    };
    const first = new FaultyBackend(mem);
    assert.deepEqual(await readAll(new MetadataCache(first, dir)), [manifest, Buffer.from('{"key":1}'), Buffer.from('sealed keyring')]);
    assert.deepEqual(
      first.calls,
      ['list snapshots', 'list keys', 'get keys/0123456789abcdef.json', 'list keyring'],
      'the manifest and keyring written through the cache are not fetched',
    );
    const second = new FaultyBackend(mem);
    const cache = new MetadataCache(second, dir);
    assert.deepEqual(await readAll(cache), [manifest, Buffer.from('{"key":1}'), Buffer.from('sealed keyring')]);
    assert.deepEqual(second.calls, ['list snapshots', 'list keys', 'list keyring'], 'only the listings');
    assert.equal(cache.hits, 3);
    // without the listing's entry, or from a store that lists no MD5, the store answers
    const plain = new FaultyBackend(mem);
    await new MetadataCache(plain, dir).get('snapshots/backup_1.json');
    assert.deepEqual(plain.calls, ['get snapshots/backup_1.json']);
    const noMd5 = new FaultyBackend(new MemoryBackend());
    await noMd5.put('snapshots/backup_1.json', manifest);
    const c = new MetadataCache(noMd5, cacheDir());
    await c.put('snapshots/backup_1.json', manifest);
    for (const o of await c.list('snapshots')) await c.get(o.name, { listed: o });
    assert.equal(noMd5.calls.filter((x) => x.startsWith('get ')).length, 1);
  });

  it('a record rewritten behind the cache, a damaged copy or one of a record deleted is never used', async () => {
    const mem = new MemoryBackend('memory:', true);
    const dir = cacheDir();
    const name = 'snapshots/backup_2.json';
    await new MetadataCache(mem, dir).put(name, Buffer.from('{"status":"running"}'));
    const read = async (): Promise<{ body: Buffer; calls: string[] }> => {
      const counted = new FaultyBackend(mem);
      const cache = new MetadataCache(counted, dir);
      const [o] = await cache.list('snapshots');
      return { body: await cache.get(name, { listed: o! }), calls: counted.calls };
    };
    // another process finishes the backup: same name, new bytes (of the same length)
    await mem.put(name, Buffer.from('{"status":"complete"}'.slice(0, 20)));
    assert.deepEqual(await read(), { body: Buffer.from('{"status":"complete"}'.slice(0, 20)), calls: ['list snapshots', `get ${name}`] });
    assert.deepEqual((await read()).calls, ['list snapshots'], 'the fetched record is kept');
    const copy = join(dir, 'records', name);
    const flipped = readFileSync(copy);
    flipped[2] ^= 1;
    writeFileSync(copy, flipped);
    assert.deepEqual(await read(), { body: Buffer.from('{"status":"complete"}'.slice(0, 20)), calls: ['list snapshots', `get ${name}`] });
    await mem.delete(name);
    await new MetadataCache(mem, dir).list('snapshots');
    assert.deepEqual(readdirSync(join(dir, 'records', 'snapshots')), [], 'the copy of a record no longer listed is removed');
  });

  it('a crafted listing naming a record ".." or ".x" is fetched, never written into the cache', async () => {
    const body = Buffer.from('{"crafted":true}');
    class Crafted extends MemoryBackend {
      override async get(): Promise<Buffer> {
        return Buffer.from(body);
      }
    }
    const dir = cacheDir();
    const cache = new MetadataCache(new Crafted(), dir);
    for (const name of ['snapshots/..', 'snapshots/.x', 'keys/..']) {
      const listed = { name, size: body.length, md5: createHash('md5').update(body).digest('hex') };
      assert.deepEqual(await cache.get(name, { listed }), body);
    }
    assert.equal(existsSync(dir), false, 'nothing written');
  });

  it('lives under PRISM_CACHE_DIR, XDG_CACHE_HOME or ~/.cache, a folder per location; PRISM_CACHE_DIR=off turns it off', () => {
    assert.match(metadataCacheDir('s3:http://h/b', { PRISM_CACHE_DIR: '/c' })!, /^\/c\/[0-9a-f]{24}$/);
    assert.match(metadataCacheDir('s3:http://h/b', { XDG_CACHE_HOME: '/x' })!, /^\/x\/prism\/[0-9a-f]{24}$/);
    assert.match(metadataCacheDir('s3:http://h/b', { HOME: '/home/u' })!, /^\/home\/u\/\.cache\/prism\/[0-9a-f]{24}$/);
    assert.notEqual(metadataCacheDir('s3:http://h/b', { HOME: '/h' }), metadataCacheDir('s3:http://h/c', { HOME: '/h' }));
    assert.equal(metadataCacheDir('s3:http://h/b', { PRISM_CACHE_DIR: 'off' }), undefined);
  });
});
