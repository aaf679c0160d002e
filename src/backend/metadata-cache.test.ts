import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it('lives under PRISM_CACHE_DIR, XDG_CACHE_HOME or ~/.cache, a folder per location; PRISM_CACHE_DIR=off turns it off', () => {
    assert.match(metadataCacheDir('s3:http://h/b', { PRISM_CACHE_DIR: '/c' })!, /^\/c\/[0-9a-f]{24}$/);
    assert.match(metadataCacheDir('s3:http://h/b', { XDG_CACHE_HOME: '/x' })!, /^\/x\/prism\/[0-9a-f]{24}$/);
    assert.match(metadataCacheDir('s3:http://h/b', { HOME: '/home/u' })!, /^\/home\/u\/\.cache\/prism\/[0-9a-f]{24}$/);
    assert.notEqual(metadataCacheDir('s3:http://h/b', { HOME: '/h' }), metadataCacheDir('s3:http://h/c', { HOME: '/h' }));
    assert.equal(metadataCacheDir('s3:http://h/b', { PRISM_CACHE_DIR: 'off' }), undefined);
  });
});
