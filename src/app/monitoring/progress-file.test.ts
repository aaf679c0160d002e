import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FixedClock } from '../../core/clock.js';
import type { ProgressEvent } from '../../core/progress.js';
import { ProgressFile, progressDir, readProgressFiles, withProgressFile, type ProgressRecord } from './progress-file.js';

const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function home(): string {
  const h = mkdtempSync(join(tmpdir(), 'prism-progress-'));
  roots.push(h);
  return h;
}

const read = (file: string): ProgressRecord => JSON.parse(readFileSync(file, 'utf8')) as ProgressRecord;
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('progress files', () => {
  it('are written at start, at most once a second in between, at finish, and removed at close', () => {
    const h = home();
    const clock = new FixedClock(new Date('2026-03-01T10:00:00Z'));
    const p = new ProgressFile(h, clock, 'backup', 'backup full');
    assert.equal(p.file, join(progressDir(h), `${process.pid}.json`));
    assert.equal((statSync(progressDir(h)).mode & 0o777).toString(8), '700');
    assert.equal((statSync(p.file).mode & 0o777).toString(8), '600');
    const first = read(p.file);
    assert.deepEqual(
      { ...first },
      {
        pid: process.pid,
        job: 'backup full',
        kind: 'backup',
        started_at: '2026-03-01T10:00:00.000Z',
        bytes_done: 0,
        bytes_total: null,
        files_done: 0,
        files_total: null,
        rate_bytes_per_s: 0,
        eta_seconds: null,
        updated_at: '2026-03-01T10:00:00.000Z',
      },
    );
    clock.advance(2000);
    p.update({ kind: 'start', totalFiles: 10, totalBytes: 10_000 });
    assert.equal(read(p.file).bytes_total, 10_000);
    clock.advance(500);
    p.update({ kind: 'advance', files: 2, bytes: 2500 });
    assert.equal(read(p.file).bytes_done, 0, 'half a second after the last write: not written');
    clock.advance(500);
    p.update({ kind: 'advance', files: 3, bytes: 2500 });
    const mid = read(p.file);
    assert.equal(mid.bytes_done, 5000);
    assert.equal(mid.files_done, 5);
    assert.equal(mid.rate_bytes_per_s, 1667); // 5000 bytes in 3 s since the start of the job
    assert.equal(mid.eta_seconds, 3); // 5000 bytes left at 1667 B/s
    assert.equal(mid.updated_at, '2026-03-01T10:00:03.000Z');
    p.update({ kind: 'finish' });
    assert.equal(read(p.file).bytes_done, 10_000);
    assert.deepEqual(
      readdirSync(progressDir(h)).filter((n) => n.endsWith('.tmp')),
      [],
      'the temporary file of the atomic write is renamed away',
    );
    p.close();
    assert.equal(existsSync(p.file), false);
  });

  it('withProgressFile feeds both listeners and removes the file when the work fails', async () => {
    const h = home();
    const clock = new FixedClock(new Date('2026-03-01T10:00:00Z'));
    const seen: ProgressEvent[] = [];
    let during: ProgressRecord[] = [];
    await assert.rejects(
      withProgressFile(
        { config: { home: h }, clock },
        'restore',
        'restore',
        (e) => seen.push(e),
        async (onProgress) => {
          onProgress({ kind: 'start', totalFiles: 1, totalBytes: 100 });
          during = readProgressFiles(h);
          throw new Error('disk on fire');
        },
      ),
      /disk on fire/,
    );
    assert.deepEqual(seen, [{ kind: 'start', totalFiles: 1, totalBytes: 100 }]);
    assert.equal(during.length, 1);
    assert.equal(during[0]!.kind, 'restore');
    assert.equal(during[0]!.bytes_total, 100);
    assert.deepEqual(readdirSync(progressDir(h)), []);
  });

  it('a second job of the same process (a restore with its safety backup) gets its own file', async () => {
    const h = home();
    const clock = new FixedClock(new Date('2026-03-01T10:00:00Z'));
    await withProgressFile({ config: { home: h }, clock }, 'restore', 'restore', undefined, async () => {
      await withProgressFile({ config: { home: h }, clock }, 'backup', 'backup full', undefined, async () => {
        assert.deepEqual(
          readProgressFiles(h)
            .map((r) => r.kind)
            .sort(),
          ['backup', 'restore'],
        );
      });
      assert.deepEqual(
        readProgressFiles(h).map((r) => r.kind),
        ['restore'],
      );
    });
    assert.deepEqual(readdirSync(progressDir(h)), []);
  });

  it('creates nothing when PRISM_HOME does not exist (a backup without a home creates none)', () => {
    const h = join(home(), 'missing');
    const p = new ProgressFile(h, new FixedClock(new Date('2026-03-01T10:00:00Z')), 'backup', 'backup full');
    p.update({ kind: 'start', totalFiles: 1, totalBytes: 1 });
    p.close();
    assert.equal(existsSync(h), false);
  });

  it('the reader lists live processes only, removes the files of dead ones and skips malformed ones', () => {
    const h = home();
    const dir = progressDir(h);
    mkdirSync(dir, { recursive: true });
    const dead = deadPid();
    const record = (pid: number): ProgressRecord => ({
      pid,
      job: 'copy offsite',
      kind: 'copy',
      started_at: '2026-03-01T10:00:00.000Z',
      bytes_done: 10,
      bytes_total: 20,
      files_done: 1,
      files_total: 2,
      rate_bytes_per_s: 5,
      eta_seconds: 2,
      updated_at: '2026-03-01T10:00:02.000Z',
    });
    writeFileSync(join(dir, `${dead}.json`), JSON.stringify(record(dead)));
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(record(process.pid)));
    writeFileSync(join(dir, `${process.ppid}.json`), '{"pid": 1, "job": "x"'); // truncated
    writeFileSync(join(dir, `${process.ppid}-1.json`), JSON.stringify(record(12345))); // pid of the name and the content differ
    writeFileSync(join(dir, `${process.ppid}-2.json`), JSON.stringify({ ...record(process.ppid), kind: 'delete everything' }));
    writeFileSync(join(dir, `${process.ppid}-3.json`), JSON.stringify({ ...record(process.ppid), bytes_done: -1 }));
    writeFileSync(join(dir, `../../evil.json`), JSON.stringify(record(process.pid)));
    writeFileSync(join(dir, `notes.txt`), 'hello');
    const running = readProgressFiles(h);
    assert.deepEqual(running, [record(process.pid)]);
    assert.equal(existsSync(join(dir, `${dead}.json`)), false, 'the file of a dead process is removed');
    assert.equal(existsSync(join(dir, `${process.ppid}.json`)), true, 'a malformed file of a live process is left to it');
    assert.deepEqual(readProgressFiles(join(h, 'nowhere')), []);
  });
});
