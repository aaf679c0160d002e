import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, linkSync, lstatSync, mkdirSync, openSync, closeSync, ftruncateSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { READ_ATTEMPTS } from '../../snapshot/file-processor.js';
import { assertBackupMatches } from '../../testing/backup-matches.js';
import { openRepo } from '../../testing/damage.js';
import { appContext, prngBytes, readBackTree, sandbox, textData, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { createBackup } from './create-backup.js';
import { failuresIn } from './failures.js';

async function readBack(sb: Sandbox, tree: string) {
  return readBackTree(await openRepo(sb), tree);
}

describe('createBackup: files that change while they are read', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox();
  });
  afterEach(() => sb.cleanup());

  it('a file that changes during every read is stored with a FILE_CHANGED warning naming it, and the backup is partial', async () => {
    writeDataset(sb.home, { files: 6 });
    const busy = join(sb.home, 'level-1-hot', 'busy.log');
    writeFileSync(busy, textData(300_000, 3));
    const attempts: number[] = [];
    const m = await createBackup(appContext(sb), {
      type: 'full',
      onRead: (path, attempt) => {
        if (path !== busy) return;
        attempts.push(attempt);
        appendFileSync(busy, `{"appended during read ${attempt}":true}\n`); // a writer that never pauses
      },
    });
    assert.deepEqual(attempts, [1, 2, 3].slice(0, READ_ATTEMPTS), 'read, then read again until the attempts run out');
    assert.equal(m.status, 'partial');
    const changed = m.warnings.filter((w) => w.code === 'FILE_CHANGED');
    assert.equal(changed.length, 1);
    assert.equal(changed[0]!.path, busy);
    assert.match(
      changed[0]!.message,
      /changed while it was read, 3 times in a row \(size \d+ -> \d+ bytes[^)]*\): the stored copy is the last read and may be inconsistent/,
    );
    assert.equal(m.error!.code, 'ERR_PRISM_FILE_CHANGED');
    assert.equal(m.error!.name, 'FILE_CHANGED');
    assert.ok(m.error!.message.includes(busy), m.error!.message);
    const back = await readBack(sb, m.tree!);
    assert.ok(back.has('level-1-hot/busy.log'), 'the last read is kept');
    await assertBackupMatches(sb, m.tree!, ['level-1-hot/busy.log']);
    const report = failuresIn([m], 7, new Date(Date.parse(m.started_at) + 1000));
    assert.equal(report.failures[0]!.code, 'ERR_PRISM_FILE_CHANGED');
    assert.match(report.failures[0]!.fix, /kept changing/);
  });

  it('a file rewritten during its first read only is read again and stored as it is now, with its new metadata', async () => {
    writeDataset(sb.home, { files: 4 });
    const conf = join(sb.home, 'config', 'rewritten.json');
    writeFileSync(conf, JSON.stringify({ version: 1, pad: textData(50_000, 1) }));
    const now = JSON.stringify({ version: 2, pad: textData(80_000, 2) });
    const m = await createBackup(appContext(sb), {
      type: 'full',
      onRead: (path, attempt) => {
        if (path === conf && attempt === 1) writeFileSync(conf, now);
      },
    });
    assert.equal(m.status, 'completed');
    assert.deepEqual(m.warnings, []);
    assert.equal(m.error, null);
    await assertBackupMatches(sb, m.tree!);
    const node = (await readBack(sb, m.tree!)).get('config/rewritten.json')!.node;
    const st = lstatSync(conf, { bigint: true });
    assert.equal(node.size, now.length);
    assert.equal(node.mtime, st.mtimeNs.toString());
    assert.equal(node.ctime, st.ctimeNs.toString());
    // the next incremental sees it unchanged: the stored stamp is the file's
    const inc = await createBackup(appContext(sb), { type: 'incremental' });
    assert.equal(inc.stats.files_read, 0);
  });

  it('a file truncated under the reader, then left alone, is stored consistent', async () => {
    const log = join(sb.home, 'level-2-warm', 'rotated.log');
    writeFileSync(log, prngBytes(3 * 1024 * 1024, 9));
    let truncated = false;
    const m = await createBackup(appContext(sb), {
      type: 'full',
      onRead: (path) => {
        if (path !== log || truncated) return;
        truncated = true;
        const fd = openSync(log, 'r+');
        ftruncateSync(fd, 1000);
        writeSync(fd, Buffer.from('rotated'), 0, 7, 0);
        closeSync(fd);
      },
    });
    assert.equal(m.status, 'completed');
    await assertBackupMatches(sb, m.tree!);
    assert.equal((await readBack(sb, m.tree!)).get('level-2-warm/rotated.log')!.node.size, 1000);
  });

  it('stable files of every shape are never flagged, on the calling thread or in the chunk workers', async () => {
    const dir = join(sb.home, 'level-3-cold', 'shapes');
    mkdirSync(dir, { recursive: true });
    const sizes = [0, 1, 4095, 4096, 65_535, 65_536, 65_537, 1024 * 1024, 4 * 1024 * 1024 + 1, 8 * 1024 * 1024 + 4 * 1024 * 1024 + 1, 13 * 1024 * 1024];
    sizes.forEach((n, i) => writeFileSync(join(dir, `size-${n}.bin`), prngBytes(n, i + 1)));
    const sparse = join(dir, 'sparse.img');
    const fd = openSync(sparse, 'w');
    writeSync(fd, Buffer.from('head'), 0, 4, 0);
    writeSync(fd, Buffer.from('tail'), 0, 4, 30 * 1024 * 1024);
    closeSync(fd);
    linkSync(join(dir, 'size-65536.bin'), join(dir, 'hardlink.bin'));
    chmodSync(join(dir, 'size-1.bin'), 0o400);
    utimesSync(join(dir, 'size-4095.bin'), new Date('2099-01-01T00:00:00Z'), new Date('2099-01-01T00:00:00Z'));
    utimesSync(join(dir, 'size-4096.bin'), new Date(0), new Date(0));
    for (let i = 0; i < 300; i++) writeFileSync(join(dir, `small-${i}.json`), textData(100 + i * 37, i));
    for (const threads of ['1', '2', '4']) {
      const ctx = appContext(sb, { PRISM_BACKUP_CONCURRENCY: threads });
      const full = await createBackup(ctx, { type: 'full' });
      assert.equal(full.status, 'completed', `concurrency ${threads}: ${JSON.stringify(full.warnings.slice(0, 3))}`);
      assert.deepEqual(full.warnings, []);
      assert.equal(full.stats.files_read, full.stats.files);
      await assertBackupMatches(sb, full.tree!);
    }
    appendFileSync(join(dir, 'small-7.json'), 'more\n');
    const inc = await createBackup(appContext(sb, { PRISM_BACKUP_CONCURRENCY: '2' }), { type: 'incremental' });
    assert.equal(inc.status, 'completed');
    assert.deepEqual(inc.warnings, []);
    assert.equal(inc.stats.files_read, 1);
  });
});
