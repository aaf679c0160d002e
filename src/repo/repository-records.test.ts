import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as v from 'valibot';
import { FrameCompressor } from '../codec/compress.js';
import { sha256Hex } from '../codec/hash.js';
import { FixedClock } from '../core/clock.js';
import { isPrismError, type PrismError } from '../errors/index.js';
import { ForwardingBackend } from '../backend/forwarding-backend.js';
import type { ReadOptions } from '../backend/backend.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { sandbox, textData, type Sandbox } from '../testing/fixtures.js';
import { BLOB_TYPE } from './blob-entry.js';
import { WAL_RECORDS, walRecordName } from './layout.js';
import { emptyStats, type Manifest } from './manifest.js';
import { openBackend } from './open-backend.js';
import { Repository } from './repository.js';

const schema = v.object({ name: v.string(), n: v.number() });

function manifestAt(id: string): Manifest {
  const day = id.slice(7, 15);
  const at = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T02:00:00.000Z`;
  return {
    format: 1,
    id,
    type: 'full',
    status: 'completed',
    trigger: 'scheduled',
    parent: null,
    comment: null,
    host: 'gw-1',
    user: 'gw',
    home: '/home/gw/.prism-gateway',
    sources: [],
    excludes: [],
    started_at: at,
    finished_at: null,
    duration_ms: null,
    tree: null,
    checksum: null,
    compression: { algorithm: 'zstd', level: 3, enabled: true },
    stats: emptyStats(),
    error: null,
    warnings: [],
  };
}

describe('records and packs through the repository', () => {
  let sb: Sandbox;
  let repo: Repository;
  beforeEach(async () => {
    sb = sandbox({ init: false });
    repo = await Repository.open(await openBackend(sb.repo), new FixedClock(new Date()), { create: true });
  });
  afterEach(() => sb.cleanup());

  it('a record is created once, saved with the given indent, listed, read back and deleted; a missing one is undefined', async () => {
    const name = walRecordName('000000010000000000000001');
    assert.equal(await repo.loadRecord(name, schema), undefined);
    assert.equal(await repo.createRecord(name, { name: 'a', n: 1 }), true);
    assert.equal(await repo.createRecord(name, { name: 'b', n: 2 }), false, 'an existing record is never replaced');
    assert.equal(readFileSync(join(sb.repo, name), 'utf8'), '{"name":"a","n":1}\n');
    await repo.saveRecord(name, { name: 'c', n: 3 }, 2);
    assert.equal(readFileSync(join(sb.repo, name), 'utf8'), '{\n  "name": "c",\n  "n": 3\n}\n');
    assert.deepEqual(await repo.loadRecord(name, schema), { name: 'c', n: 3 });
    assert.deepEqual(await repo.listRecords(WAL_RECORDS, schema), [{ name: 'c', n: 3 }]);
    await repo.deleteRecord(name);
    assert.equal(await repo.loadRecord(name, schema), undefined);
    assert.deepEqual(await repo.listRecords(WAL_RECORDS, schema), []);
  });

  it('a damaged record is REPO_CORRUPT naming it, or passed to onDamaged and left out of the listing', async () => {
    await repo.createRecord(walRecordName('good'), { name: 'good', n: 1 });
    mkdirSync(join(sb.repo, WAL_RECORDS), { recursive: true });
    writeFileSync(join(sb.repo, walRecordName('bad')), '{not json');
    writeFileSync(join(sb.repo, WAL_RECORDS, 'other.txt'), 'not a record');
    await assert.rejects(
      repo.loadRecord(walRecordName('bad'), schema),
      (e) => isPrismError(e) && e.code === 'REPO_CORRUPT' && e.details?.object === walRecordName('bad'),
    );
    await assert.rejects(repo.listRecords(WAL_RECORDS, schema), (e) => isPrismError(e) && e.code === 'REPO_CORRUPT');
    const damaged: string[] = [];
    assert.deepEqual(await repo.listRecords(WAL_RECORDS, schema, (n: string, _e: PrismError) => damaged.push(n)), [{ name: 'good', n: 1 }]);
    assert.deepEqual(damaged, [walRecordName('bad')]);
  });

  it('a manifest under a name other than its backup id is REPO_CORRUPT, and left out of the listing', async () => {
    const m: Manifest = {
      format: 1,
      id: 'backup_20260201_020000_full',
      type: 'full',
      status: 'completed',
      trigger: 'scheduled',
      parent: null,
      comment: null,
      host: 'gw-1',
      user: 'gw',
      home: '/home/gw/.prism-gateway',
      sources: [],
      excludes: [],
      started_at: '2026-02-01T02:00:00.000Z',
      finished_at: '2026-02-01T02:00:05.000Z',
      duration_ms: 5000,
      tree: null,
      checksum: null,
      compression: { algorithm: 'zstd', level: 3, enabled: true },
      stats: emptyStats(),
      error: null,
      warnings: [],
    };
    await repo.saveManifest(m);
    // a copy dated years back under another name: cleanup would expire "backup_20260201_020000_full" and delete the genuine one by its id
    const copy = 'snapshots/backup_20200101_000000_full.json';
    writeFileSync(join(sb.repo, copy), JSON.stringify({ ...m, started_at: '2020-01-01T00:00:00.000Z' }));
    const damaged: string[] = [];
    assert.deepEqual(
      (await repo.listManifests((n) => damaged.push(n))).map((x) => [x.id, x.started_at]),
      [[m.id, m.started_at]],
    );
    assert.deepEqual(damaged, [copy]);
    await assert.rejects(
      repo.loadManifest('backup_20200101_000000_full'),
      (e) => isPrismError(e) && e.code === 'REPO_CORRUPT' && e.details?.object === copy && /names backup backup_20260201_020000_full/.test(e.message),
    );
    assert.equal((await repo.loadManifest(m.id)).started_at, m.started_at);
  });

  it('listManifests leaves out, unread, the manifest of exceptId (a backup does not read back its own)', async () => {
    const base = { ...manifestAt('backup_20260201_020000_full'), status: 'completed' as const };
    await repo.saveManifest(base);
    await repo.saveManifest({ ...manifestAt('backup_20260202_020000_full'), status: 'running' });
    const counted = new FaultyBackend(await openBackend(sb.repo));
    const again = await Repository.open(counted, new FixedClock(new Date()));
    counted.calls.length = 0;
    const listed = await again.listManifests(undefined, { exceptId: 'backup_20260202_020000_full' });
    assert.deepEqual(
      listed.map((m) => m.id),
      [base.id],
    );
    assert.deepEqual(counted.calls, ['list snapshots', 'get snapshots/backup_20260201_020000_full.json']);
  });

  it('a pack written through the repository is listed with its size and read back whole', async () => {
    const data = Buffer.from(textData(5000, 7));
    const writer = repo.packWriter(new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 3 }));
    writer.add(BLOB_TYPE.data, sha256Hex(data), data);
    const blobs = await writer.finish();
    await repo.writeIndex(blobs);
    const pack = blobs[0]!.pack;
    assert.deepEqual(await repo.listPacks(), [pack]);
    const whole = await repo.readPack(pack);
    assert.deepEqual(await repo.listPackSizes(), new Map([[pack, whole.length]]));
    assert.deepEqual(whole, readFileSync(join(sb.repo, 'data', pack.slice(0, 2), pack)));
    assert.deepEqual(await repo.readBlob(sha256Hex(data)), data);
  });

  it('a tree frame that does not open is read once more with `fresh` (past a local copy), and only a tree frame', async () => {
    const tree = Buffer.from(textData(3000, 11));
    const data = Buffer.from(textData(3000, 12));
    const writer = repo.packWriter(new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 3 }));
    writer.add(BLOB_TYPE.tree, sha256Hex(tree), tree);
    const treeBlobs = await writer.finish();
    const writer2 = repo.packWriter(new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 3 }));
    writer2.add(BLOB_TYPE.data, sha256Hex(data), data);
    const dataBlobs = await writer2.finish();
    await repo.writeIndex([...treeBlobs, ...dataBlobs]);
    // a stale local copy: kept reads answer garbage unless read fresh
    const seen: string[] = [];
    class StaleCopies extends ForwardingBackend {
      override async getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
        seen.push(`${opts?.keep ? 'keep' : '-'}${opts?.fresh ? ' fresh' : ''}`);
        const real = await this.inner.getRange(name, offset, length, opts);
        return opts?.keep && !opts.fresh ? Buffer.alloc(real.length, 0x5a) : real;
      }
    }
    const reader = await Repository.open(new StaleCopies(await openBackend(sb.repo)), new FixedClock(new Date()));
    await reader.loadIndex();
    assert.deepEqual(await reader.readBlob(sha256Hex(tree)), tree);
    assert.deepEqual(seen, ['keep', 'keep fresh']);
    assert.deepEqual(await reader.readBlob(sha256Hex(data)), data);
    assert.deepEqual(seen.slice(2), ['-'], 'a file chunk’s frame is neither kept nor read twice');
  });

  it("a repository that adopts another one's shared index reads its blobs and knows the copies recorded as damaged", async () => {
    const [a, b] = [Buffer.from(textData(5000, 8)), Buffer.from(textData(6000, 9))];
    const writer = repo.packWriter(new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 3 }));
    writer.add(BLOB_TYPE.data, sha256Hex(a), a);
    writer.add(BLOB_TYPE.data, sha256Hex(b), b);
    const blobs = await writer.finish();
    await repo.writeIndex(blobs);
    await repo.recordDamaged([{ id: sha256Hex(b), loc: blobs.find((x) => x.id === sha256Hex(b))!, reason: 'test' }]);
    const loaded = await Repository.open(await openBackend(sb.repo), new FixedClock(new Date()));
    await loaded.loadIndex();
    const adopting = await Repository.open(await openBackend(sb.repo), new FixedClock(new Date()));
    adopting.adoptIndex(loaded.shareIndex());
    assert.equal(adopting.index.size, loaded.index.size);
    assert.deepEqual(await adopting.readBlob(sha256Hex(a)), a);
    assert.equal(adopting.hasDamagedCopy(sha256Hex(b)), true);
    await assert.rejects(adopting.readBlob(sha256Hex(b)), (e: PrismError) => e.id === 'ERR_BACKUP_005' && /found damaged and dropped/.test(e.message));
    assert.equal(await adopting.loadIndex(), adopting.index, 'the adopted index counts as loaded');
  });
});
