import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../repo/index.js';
import { json, prism, sandbox, type Sandbox } from '../testing/fixtures.js';

/** A path of the data directory as bytes (latin1 keeps each byte as written). */
const raw = (...parts: string[]): Buffer => Buffer.from(parts.join('/'), 'latin1');
/** `ls`-style names of a directory, as bytes in hex (so invalid UTF-8 compares exactly). */
const namesHex = (dir: Buffer): string[] =>
  readdirSync(dir, { encoding: 'buffer' })
    .map((b) => b.toString('hex'))
    .sort();

describe('file names that are not UTF-8 (CLI)', () => {
  let sb: Sandbox;
  let full: Manifest;
  const hot = (): string => join(sb.home, 'level-1-hot');
  before(() => {
    sb = sandbox();
    const h = hot();
    writeFileSync(raw(h, 'bad\xff.txt'), 'invalid byte in the name');
    // two names that decode to the same text if invalid bytes are replaced
    writeFileSync(raw(h, 'dup\xff.txt'), 'the byte ff');
    writeFileSync(raw(h, 'dup\xef\xbf\xbd.txt'), 'the replacement character');
    mkdirSync(raw(h, 'dir\xff'));
    writeFileSync(raw(h, 'dir\xff', 'inner\xfe.json'), '{"inside": true}');
    symlinkSync(raw('bad\xff.txt'), raw(h, 'link\xfd'));
    writeFileSync(raw(h, 'esc\x1b]0;owned\x07\x1b[2J.txt'), 'control characters in the name');
    writeFileSync(join(h, 'plain.txt'), 'plain');
    full = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--json'], sb.env));
  });
  after(() => sb.cleanup());

  it('backs every name up, with no warning', () => {
    assert.equal(full.status, 'completed');
    assert.deepEqual(full.warnings, []);
    // bad, dup ×2, inner, esc, plain
    assert.equal(full.stats.files, 6);
    const entries = json<Array<{ path: string; type: string; target?: string }>>(prism(['backup', 'ls', full.id, 'level-1-hot', '-r', '--json'], sb.env));
    const paths = entries.map((e) => e.path).sort();
    assert.deepEqual(paths, [
      'level-1-hot/bad\udcff.txt',
      'level-1-hot/dir\udcff',
      'level-1-hot/dir\udcff/inner\udcfe.json',
      'level-1-hot/dup\udcff.txt',
      'level-1-hot/dup\ufffd.txt',
      'level-1-hot/esc\x1b]0;owned\x07\x1b[2J.txt',
      'level-1-hot/link\udcfd',
      'level-1-hot/plain.txt',
    ]);
    assert.equal(entries.find((e) => e.type === 'symlink')!.target, 'bad\udcff.txt');
  });

  it('shows names escaped to people: no raw control character reaches the terminal', () => {
    const r = prism(['backup', 'ls', full.id, 'level-1-hot', '-r'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /level-1-hot\/bad\\xff\.txt/);
    assert.match(r.stdout, /level-1-hot\/esc\\x1b\]0;owned\\x07\\x1b\[2J\.txt/);
    assert.match(r.stdout, /link\\xfd -> bad\\xff\.txt/);
    assert.doesNotMatch(r.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  it('restores every name byte-exact into a target directory', () => {
    const target = join(sb.root, 'restored');
    const r = prism(['backup', 'restore', full.id, '--target', target, '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(namesHex(raw(target, 'level-1-hot')), namesHex(raw(hot())));
    assert.deepEqual(namesHex(raw(target, 'level-1-hot', 'dir\xff')), [Buffer.from('inner\xfe.json', 'latin1').toString('hex')]);
    assert.equal(readFileSync(raw(target, 'level-1-hot', 'dup\xff.txt'), 'utf8'), 'the byte ff');
    assert.equal(readFileSync(raw(target, 'level-1-hot', 'dup\xef\xbf\xbd.txt'), 'utf8'), 'the replacement character');
    assert.deepEqual(readlinkSync(raw(target, 'level-1-hot', 'link\xfd'), { encoding: 'buffer' }), raw('bad\xff.txt'));
    const verify = prism(['backup', 'verify', full.id], sb.env);
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
  });

  it('restores the live data directory in place, byte-exact, and the health check sees every file', () => {
    rmSync(raw(hot(), 'dir\xff'), { recursive: true });
    rmSync(raw(hot(), 'dup\xff.txt'));
    const done = prism(['backup', 'restore', full.id, '--confirm', '--no-safety-backup', '--json'], sb.env);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(readFileSync(raw(hot(), 'dir\xff', 'inner\xfe.json'), 'utf8'), '{"inside": true}');
    assert.equal(readFileSync(raw(hot(), 'dup\xff.txt'), 'utf8'), 'the byte ff');
    const health = json<{ files: number; since_backup: { added: string[]; modified: string[]; deleted: string[] } }>(
      prism(['health', 'check', 'data', '--json'], sb.env),
    );
    assert.equal(health.files, 6);
    // a restore gives new inodes and ctimes ("modified"), but no name may look added or deleted
    assert.deepEqual([health.since_backup.added, health.since_backup.deleted], [[], []]);
  });

  it('an incremental backup, prune and cleanup all run on such a repository', () => {
    const settle = json<Manifest>(prism(['backup', 'create', '--type', 'incremental', '--json'], sb.env));
    assert.equal(settle.status, 'completed');
    writeFileSync(raw(hot(), 'bad\xff.txt'), 'changed');
    const inc = json<Manifest>(prism(['backup', 'create', '--type', 'incremental', '--json'], sb.env));
    assert.equal(inc.status, 'completed');
    assert.equal(inc.stats.files_read, 1); // the unchanged names matched their entries of the parent
    const prune = prism(['backup', 'prune', '--json'], sb.env);
    assert.equal(prune.code, 0, prune.stderr);
    const all = prism(['backup', 'verify', '--all'], sb.env);
    assert.equal(all.code, 0, all.stderr + all.stdout);
  });

  it('prints a comment with terminal escapes escaped in list and info, exact in --json; refuses an oversized comment', () => {
    const comment = 'before \x1b[2J\x1b]0;pwned\x07 after \u009b31m';
    const m = json<Manifest>(prism(['backup', 'create', '--type', 'incremental', '--comment', comment, '--json'], sb.env));
    assert.equal(m.comment, comment);
    for (const args of [
      ['backup', 'list'],
      ['backup', 'info', m.id],
    ]) {
      const r = prism(args, sb.env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /before \\x1b\[2J\\x1b\]0;pwned\\x07 after \\u\{9b\}31m/, args.join(' '));
      assert.doesNotMatch(r.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, args.join(' '));
    }
    assert.equal(json<Manifest>(prism(['backup', 'info', m.id, '--json'], sb.env)).comment, comment);
    const before = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env)).length;
    const big = prism(['backup', 'create', '--type', 'incremental', '--comment', 'x'.repeat(4097)], sb.env);
    assert.equal(big.code, 2, big.stderr);
    assert.match(big.stderr, /ERR_PRISM_ARGS.*4097 bytes.*at most 4096/);
    assert.equal(json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env)).length, before);
  });

  it('a name that is not UTF-8 can be named on the command line as ls shows it', () => {
    const dump = prism(['backup', 'dump', full.id, 'level-1-hot/dup\\xff.txt'], sb.env);
    assert.equal(dump.code, 0, dump.stderr);
    assert.equal(dump.stdout, 'the byte ff');
    const target = join(sb.root, 'one-file');
    const r = prism(['backup', 'restore', full.id, '--target', target, '--include', 'level-1-hot/dir\\xff', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(namesHex(raw(target, 'level-1-hot')), [Buffer.from('dir\xff', 'latin1').toString('hex')]);
    assert.equal(readFileSync(raw(target, 'level-1-hot', 'dir\xff', 'inner\xfe.json'), 'utf8'), '{"inside": true}');
  });
});
