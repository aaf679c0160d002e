import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempRootForFile } from '../../testing/fixtures.js';
import { TarWatcher } from './pg-basebackup-tar.js';
import { checkWalName, isSegmentName, isSegmentSize, parseLsn, segmentOf } from './pg-wal-name.js';

describe('WAL names and locations', () => {
  it('maps an LSN to its segment file as PostgreSQL names it', () => {
    assert.equal(segmentOf(1, parseLsn('0/2000028'), 16 << 20), '000000010000000000000002');
    assert.equal(segmentOf(2, parseLsn('1/FF000000'), 16 << 20), '0000000200000001000000FF');
    assert.equal(segmentOf(1, parseLsn('0/3FFFFFF'), 64 << 20), '000000010000000000000000');
    assert.throws(() => parseLsn('12345'), /not a WAL location/);
  });

  it('accepts segment, history, backup and partial names only', () => {
    for (const n of ['000000010000000000000002', '00000002.history', '000000010000000000000002.00000028.backup', '000000010000000000000002.partial'])
      assert.doesNotThrow(() => checkWalName(n));
    for (const n of ['RECOVERYXLOG', '00000001000000000000000', '../etc/passwd', '000000010000000000000002.tmp'])
      assert.throws(() => checkWalName(n), /ERR_PRISM_PG_ARCHIVE|not the name/);
    assert.equal(isSegmentName('00000002.history'), false);
    assert.deepEqual([1 << 20, 16 << 20, 1 << 30, 1000, 3 << 20, 2 << 30].map(isSegmentSize), [true, true, true, false, false, false]);
  });
});

describe('TarWatcher', () => {
  const root = tempRootForFile();
  it('keeps the named members of a tar stream fed in odd-sized pieces', () => {
    const dir = join(root(), 'src');
    mkdirSync(join(dir, 'base', '1'), { recursive: true });
    writeFileSync(join(dir, 'backup_label'), 'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n');
    writeFileSync(join(dir, 'base', '1', 'big'), Buffer.alloc(300_001, 1));
    writeFileSync(join(dir, 'backup_manifest'), JSON.stringify({ 'WAL-Ranges': [{ Timeline: 1, 'Start-LSN': '0/2000028', 'End-LSN': '0/2000100' }] }));
    const tar = join(root(), 'x.tar');
    execFileSync('tar', ['-cf', tar, '-C', dir, 'backup_label', 'base', 'backup_manifest']);
    const data = readFileSync(tar);
    const w = new TarWatcher(new Set(['backup_label', 'backup_manifest']));
    for (let pos = 0, step = 1; pos < data.length; pos += step, step = (step * 7 + 3) % 4099 || 1) w.push(data.subarray(pos, pos + step));
    assert.match(w.files.get('backup_label')!.toString(), /^START WAL LOCATION: 0\/2000028/);
    assert.equal(JSON.parse(w.files.get('backup_manifest')!.toString())['WAL-Ranges'][0]['End-LSN'], '0/2000100');
    assert.equal(w.files.size, 2);
  });
});
