import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalBackend } from '../backend/index.js';
import { idListDigest } from '../codec/hash.js';
import { FixedClock } from '../core/clock.js';
import { Repository, type IndexedBlob } from '../repo/index.js';
import type { DumpResult, DumpSink } from '../source/db/db-dump.js';
import { prngBytes, sandbox, textData } from '../testing/fixtures.js';
import { chunkWorkerInit } from './archiver.js';
import { archiveDatabases, type DbJob } from './db-archiver.js';
import { ObjectWorker } from './object-worker.js';
import { readDbObject, readDbObjectText } from './db-objects.js';

const sb = sandbox();
after(() => sb.cleanup());

const SCHEMA = 'CREATE TABLE t (id int, v text);\n';
/** 40 MB of text (well past the worker's window and batch sizes) and a small binary object. */
const BIG = Buffer.from(textData(40 * 1024 * 1024, 7), 'utf8');
const SMALL = prngBytes(300 * 1024, 8);

/** A dumper that streams fixed objects in uneven slices, two of them open at once. */
function job(name: string, failAfter?: number): DbJob {
  return {
    name,
    dump: async (sink: DumpSink): Promise<DumpResult> => {
      const schema = sink.open('schema.sql');
      const table = sink.open('table.t');
      await schema.write(Buffer.from(SCHEMA));
      let sent = 0;
      for (let off = 0, step = 1; off < BIG.length; off += step, step = (step * 7 + 13) % 300_000 || 1) {
        await table.write(BIG.subarray(off, Math.min(BIG.length, off + step)));
        sent += step;
        if (failAfter !== undefined && sent > failAfter) throw new Error('the dump tool went away');
      }
      const s = await schema.close();
      const t = await table.close();
      const bin = sink.open('table.bin');
      await bin.write(SMALL);
      const b = await bin.close();
      return {
        serverVersion: 'test',
        schema: [{ part: 'pre-data', object: 'schema.sql', ...s }],
        tables: [
          { name: 't', object: 'table.t', rows: 0, ...t },
          { name: 'bin', object: 'table.bin', rows: 0, ...b },
        ],
      };
    },
  };
}

async function freshRepo(dir: string): Promise<Repository> {
  return Repository.open(new LocalBackend(dir), new FixedClock(new Date('2026-02-07T02:00:00Z')), { create: true });
}

async function openRepoAt(dir: string): Promise<Repository> {
  const repo = await Repository.open(new LocalBackend(dir), new FixedClock(new Date('2026-02-07T02:00:00Z')));
  await repo.loadIndex();
  return repo;
}

function run(repo: Repository, dir: string, concurrency: number, jobs: DbJob[], written: IndexedBlob[]) {
  return archiveDatabases({
    repo,
    repoRoot: dir,
    compression: { enabled: true, algorithm: 'zstd', level: 3 },
    chunkWorker: concurrency > 1,
    jobs,
    now: () => 0,
    onBlobs: (b) => written.push(...b),
  });
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const tempFiles = (dir: string): string[] =>
  readdirSync(join(dir, 'data'), { recursive: true })
    .map(String)
    .filter((f) => f.split('/').pop()!.startsWith('.tmp-'));

describe('archiveDatabases', () => {
  it('stores the same objects with and without the chunk worker, and they read back byte for byte', async () => {
    const trees: string[] = [];
    for (const concurrency of [1, 2]) {
      const dir = join(sb.root, `repo-${concurrency}`);
      const repo = await freshRepo(dir);
      const written: IndexedBlob[] = [];
      const out = await run(repo, dir, concurrency, [job('one')], written);
      await repo.writeIndex(written);
      trees.push(out.tree);
      const item = out.items[0]!;
      assert.equal(item.bytes, SCHEMA.length + BIG.length + SMALL.length);
      assert.ok(item.storedBytes > 0 && item.storedBytes < item.bytes, `stored ${item.storedBytes} of ${item.bytes}`);
      assert.ok(out.packs >= 1);
      assert.deepEqual(tempFiles(dir), []);

      const reopened = await Repository.open(new LocalBackend(dir), new FixedClock(new Date()));
      await reopened.loadIndex();
      const dbDir = (await reopened.readTree(out.tree)).nodes.find((n) => n.name === 'one')!;
      const nodes = new Map((await reopened.readTree(dbDir.subtree!)).nodes.map((n) => [n.name, n]));
      assert.equal(await readDbObjectText(reopened, nodes.get('schema.sql')!), SCHEMA);
      // each object's checksum is the SHA-256 over its chunk ids, as the tree lists them
      assert.equal(item.result.tables[0]!.checksum, idListDigest(nodes.get('table.t')!.content!));
      assert.equal(item.result.tables[1]!.checksum, idListDigest(nodes.get('table.bin')!.content!));
      assert.equal(item.result.schema[0]!.checksum, idListDigest(nodes.get('schema.sql')!.content!));
      const read = readDbObject(reopened, nodes.get('table.t')!);
      const parts: Buffer[] = [];
      for await (const b of read.stream) parts.push(b as Buffer);
      assert.equal(sha(Buffer.concat(parts)), sha(BIG));
      assert.equal(read.sha256(), sha(BIG), "the stream's SHA-256, once read");
      assert.equal(sha(Buffer.from(await readDbObjectText(reopened, nodes.get('table.t')!), 'utf8')), sha(BIG));
      const binParts = await Promise.all(nodes.get('table.bin')!.content!.map((id) => reopened.readBlob(id)));
      assert.equal(sha(Buffer.concat(binParts)), sha(SMALL));
    }
    // the worker cuts the same chunks as the calling thread: over the worker's repository, an inline run adds nothing
    const dir = join(sb.root, 'repo-2');
    const inline = await run(await openRepoAt(dir), dir, 1, [job('one')], []);
    assert.equal(inline.tree, trees[1]);
    assert.equal(inline.newBytes, 0);
  });

  it('a second run over unchanged objects stores no new data', async () => {
    const dir = join(sb.root, 'repo-again');
    const repo = await freshRepo(dir);
    const first: IndexedBlob[] = [];
    await run(repo, dir, 2, [job('one')], first);
    await repo.writeIndex(first);
    const again = await run(repo, dir, 2, [job('one')], []);
    assert.equal(again.newBytes, 0);
    assert.equal(again.newBlobs, 0);
  });

  for (const concurrency of [1, 2]) {
    it(`a dump failing half-way leaves no unfinished pack behind (concurrency ${concurrency})`, async () => {
      const dir = join(sb.root, `repo-fail-${concurrency}`);
      const repo = await freshRepo(dir);
      const written: IndexedBlob[] = [];
      await assert.rejects(run(repo, dir, concurrency, [job('one', 20 * 1024 * 1024)], written), /the dump tool went away/);
      assert.deepEqual(tempFiles(dir), [], 'the unfinished pack of the worker and of this thread are removed');
      // whatever landed is a whole pack whose blobs were reported: indexing them keeps the repository consistent
      await repo.writeIndex(written);
      const ok = await run(repo, dir, concurrency, [job('one')], []);
      assert.ok(ok.tree.length === 64);
    });
  }
});

describe('ObjectWorker', () => {
  it('two aborts at once (the dump failing, then the backup giving up) both end with the one stop of the thread', async () => {
    const dir = join(sb.root, 'repo-abort');
    const repo = await freshRepo(dir);
    await repo.loadIndex();
    const w = new ObjectWorker(chunkWorkerInit(repo, dir, { enabled: true, algorithm: 'zstd', level: 3 }), () => {});
    const first = w.abort();
    const second = w.abort();
    assert.equal(second, first, 'the second abort waits for the first');
    // (the first used to wait out its 5 s fallback: the worker's one reply went to the second)
    await Promise.all([first, second]);
    await assert.rejects(w.open().write(Buffer.from('x')), /the chunk worker was stopped/);
  });
});
