import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryBackend } from '../backend/memory-backend.js';
import { MetadataCache } from '../backend/metadata-cache.js';
import { FrameCompressor } from '../codec/compress.js';
import { FixedClock } from '../core/clock.js';
import { FAST_KDF, TEST_PASSWORD, passwordOf } from '../testing/encrypted.js';
import { BLOB_TYPE } from './blob-entry.js';
import { Repository } from './repository.js';

const clock = new FixedClock(new Date('2026-12-07T12:00:00Z'));
const dir = mkdtempSync(join(tmpdir(), 'prism-cache-rotation-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the metadata cache of an encrypted repository', () => {
  it('a cached index file that does not open (sealed under a key no longer held, or planted) is fetched again from the store', async () => {
    const store = new MemoryBackend();
    const open = (): Promise<Repository> => Repository.open(new MetadataCache(store, dir), clock, { password: passwordOf(TEST_PASSWORD) });
    const created = await Repository.open(new MetadataCache(store, dir), clock, {
      create: true,
      encrypt: { password: passwordOf(TEST_PASSWORD), params: FAST_KDF },
    });
    const writer = created.packWriter(new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 3 }));
    const data = Buffer.from('a blob of the repository');
    const id = created.crypt.blobIdHex(data);
    writer.add(BLOB_TYPE.data, id, data);
    await created.writeIndex(await writer.finish());
    assert.ok((await (await open()).loadIndex()).get(id), 'the index loads (and its copy is cached)');

    // the copy: same size, its own hash right, but sealed bytes that do not open
    const [indexName] = (await store.list('index')).map((o) => o.name);
    const copy = join(dir, 'index', indexName!.slice('index/'.length));
    const body = readFileSync(copy).subarray(0, -32);
    body[body.length - 1]! ^= 1;
    writeFileSync(copy, Buffer.concat([body, createHash('sha256').update(body).digest()]));

    const again = await open();
    assert.ok((await again.loadIndex()).get(id), 'the index loads from the store');
    assert.deepEqual(Buffer.from(await again.readBlob(id)), data);
    assert.notDeepEqual(readFileSync(copy).subarray(0, -32), body, 'the copy was replaced');
  });
});
