import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { prepareEmptyDir, runTool } from './run-tool.js';

const dir = mkdtempSync(join(tmpdir(), 'prism-run-tool-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = { code: 'PG_ARCHIVE_FAILED' as const, what: 'Unpacking', missing: 'nosuchtool is not installed' };

async function* chunks(n: number, size: number, fail?: Error): AsyncIterable<Buffer> {
  for (let i = 0; i < n; i++) yield Buffer.alloc(size, 97 + (i % 26));
  if (fail) throw fail;
}

describe('runTool', () => {
  it('feeds the input to the tool with back-pressure (more than a pipe holds)', async () => {
    const out = join(dir, 'fed');
    await runTool('sh', ['-c', `cat > ${out}`], { ...run, input: chunks(64, 64 * 1024) });
    assert.equal(readFileSync(out).length, 64 * 64 * 1024);
  });

  it('reports a failing tool with the last lines of its standard error and its exit code', async () => {
    await assert.rejects(runTool('sh', ['-c', 'echo first >&2; echo "the real reason" >&2; exit 3'], run), (e: Error & { code?: string }) => {
      assert.match(e.message, /^Unpacking failed \(sh exited with 3\): first the real reason$/);
      return true;
    });
  });

  it('does not hang when the tool stops early while input remains', async () => {
    await assert.rejects(runTool('sh', ['-c', 'head -c 10 >/dev/null; exit 2'], { ...run, input: chunks(2000, 64 * 1024) }), /exited with 2/);
  });

  it('stops the tool and rejects with the input’s error when the input fails', async () => {
    const boom = new Error('the repository read failed');
    await assert.rejects(runTool('sh', ['-c', 'cat >/dev/null'], { ...run, input: chunks(3, 1024, boom) }), (e) => e === boom);
  });

  it('says what to install when the tool is missing', async () => {
    await assert.rejects(runTool('prism-nosuchtool-xyz', [], run), /nosuchtool is not installed/);
  });
});

describe('prepareEmptyDir', () => {
  it('creates a missing directory with the mode given', () => {
    const d = join(dir, 'new', 'data');
    prepareEmptyDir(d, 0o700, 'x');
    assert.equal(statSync(d).mode & 0o777, 0o700 & ~process.umask());
    prepareEmptyDir(d, 0o700, 'x'); // an empty existing one is taken as it is
  });

  it('refuses a directory that holds anything, and a file, saying why', () => {
    const d = join(dir, 'full');
    mkdirSync(d);
    writeFileSync(join(d, 'PG_VERSION'), '15');
    assert.throws(() => prepareEmptyDir(d, 0o700, 'a restore writes a whole cluster'), /is not empty; a restore writes a whole cluster\./);
    assert.throws(() => prepareEmptyDir(join(d, 'PG_VERSION'), 0o700, 'x'), /exists and is not a directory/);
  });
});
