import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { RACY_MS } from '../../app/pitr/postgres/wal-spool.js';
import { PRISM_BIN, prngBytes, sandbox, type Sandbox } from '../../testing/fixtures.js';

/**
 * The launcher against the node side: `PRISM_NODE` names a script that logs each start and then
 * runs node, so a call that leaves the log as it was was answered by the launcher alone.
 */
const LAUNCHER = fileURLToPath(new URL('./prism-wal', import.meta.url));
const seg = (i: number) => `0000000100000000000000${i.toString(16).toUpperCase().padStart(2, '0')}`;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(25);
  }
}

interface Call {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The node starts this call made (0: the launcher answered). */
  nodeStarts: number;
}

describe('prism-wal: archive_command and restore_command without a node start', () => {
  let sb: Sandbox;
  let log: string;
  let env: Record<string, string>;
  /** The cluster's directory: archive_command runs here with pg_wal/NAME. */
  let data: string;
  let walDir: string;

  beforeEach(() => {
    assert.ok(existsSync(LAUNCHER), `${LAUNCHER} is built by scripts/build-native.mjs (a C compiler is needed)`);
    sb = sandbox();
    log = join(sb.root, 'node-starts.log');
    const sentinel = join(sb.root, 'node.sh');
    writeFileSync(sentinel, `#!/bin/sh\necho start >> '${log}'\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
    env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...sb.env, PRISM_NODE: sentinel };
    data = join(sb.root, 'data');
    walDir = join(data, 'pg_wal');
    mkdirSync(join(walDir, 'archive_status'), { recursive: true });
  });
  afterEach(async () => {
    // a call node answered may have left a background push or fetch running: it ends before the files go
    const workers = () => readdirSync(sb.root, { recursive: true }).filter((f) => String(f).endsWith('worker.json'));
    await until('the background workers to end', () => workers().length === 0);
    sb.cleanup();
  });

  const starts = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').length - 1 : 0);

  function launch(args: string[], o: { env?: Record<string, string>; cwd?: string; shell?: string } = {}): Call {
    const before = starts();
    const r = o.shell
      ? spawnSync('/bin/sh', ['-c', o.shell], { cwd: o.cwd ?? data, env: { ...(o.env ?? env), L: LAUNCHER }, encoding: 'utf8' })
      : spawnSync(LAUNCHER, args, { cwd: o.cwd ?? data, env: o.env ?? env, encoding: 'utf8' });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, nodeStarts: starts() - before };
  }

  /** Segments of 1 MiB ready in `dir`, last written a moment ago (longer than RACY_MS). */
  async function ready(from: number, count: number, dir = walDir): Promise<string[]> {
    const names = Array.from({ length: count }, (_, k) => {
      writeFileSync(join(dir, seg(from + k)), prngBytes(1 << 20, from + k));
      writeFileSync(join(dir, 'archive_status', `${seg(from + k)}.ready`), '');
      return seg(from + k);
    });
    await wait(RACY_MS + 30);
    return names;
  }

  const archiveArea = () => {
    const root = join(sb.home, 'spool', 'pg-archive');
    const areas = existsSync(root) ? readdirSync(root) : [];
    return areas.length === 1 ? join(root, areas[0]!) : '';
  };
  const pointers = () => readdirSync(join(sb.home, 'run', 'wal-fast')).map((f) => join(sb.home, 'run', 'wal-fast', f));

  /** The first call goes to node (no pointer yet), which stores it, starts the push and writes the pointer; waits for the push. */
  async function firstCall(names: string[], extra: string[] = []): Promise<string> {
    const first = launch(['archive-wal', `pg_wal/${names[0]}`, ...extra]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.nodeStarts, 1, 'no pointer yet: node answers');
    await until('the push', () => {
      const a = archiveArea();
      return a !== '' && names.slice(1).every((n) => existsSync(join(a, `${n}.ok`))) && !existsSync(join(a, 'worker.json'));
    });
    assert.equal(pointers().length, 1);
    return archiveArea();
  }

  it('answers the calls the push has stored without starting node; the first call, and one with a flag it does not know, go to node', async () => {
    const names = await ready(1, 5);
    await firstCall(names);
    const hit = launch(['archive-wal', `pg_wal/${names[1]}`]);
    assert.deepEqual([hit.code, hit.nodeStarts, hit.stdout, hit.stderr], [0, 0, '', '']);
    // an absolute %p names the same WAL directory
    assert.equal(launch(['archive-wal', join(walDir, names[2]!)]).nodeStarts, 0);
    // --json, --no-async, a flag given twice, a relative part: node
    const json = launch(['archive-wal', `pg_wal/${names[3]}`, '--json']);
    assert.equal(json.nodeStarts, 1);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).name, names[3]);
    assert.equal(launch(['archive-wal', `pg_wal/${names[4]}`, '--no-async']).nodeStarts, 1);
    const spoolDir = join(sb.home, 'spool');
    assert.equal(launch(['archive-wal', `pg_wal/${names[4]}`, '--spool-dir', spoolDir, '--spool-dir', spoolDir]).nodeStarts, 1);
    assert.equal(launch(['archive-wal', `./pg_wal/${names[4]}`]).nodeStarts, 1);
    assert.equal(launch(['archive-wal', `pg_wal/../pg_wal/${names[4]}`]).nodeStarts, 1);
    // and the pointer still holds: the call is answered again
    assert.equal(launch(['archive-wal', `pg_wal/${names[4]}`]).nodeStarts, 0);
  });

  it('a call before the push has marked its segment waits for the mark while the push runs; without a live push, or one that left it to its caller, node', async () => {
    const names = await ready(0x70, 3);
    const area = await firstCall(names);
    const markFile = join(area, `${names[2]}.ok`);
    const aside = join(sb.root, 'mark-aside');
    renameSync(markFile, aside);
    const worker = (w: object) => writeFileSync(join(area, 'worker.json'), JSON.stringify(w), { mode: 0o600 });
    // a live push (this process stands for it) that marks the segment a moment later
    worker({ pid: process.pid, host: hostname() });
    const before = starts();
    const child = spawn(LAUNCHER, ['archive-wal', `pg_wal/${names[2]}`], { cwd: data, env, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await wait(300);
    renameSync(aside, markFile);
    assert.equal(await exited, 0);
    assert.equal(starts() - before, 0, 'answered without node once the mark came');
    // the push left this segment to its caller, or there is no push: node at once
    renameSync(markFile, aside);
    worker({ pid: process.pid, host: hostname(), skip: names[2] });
    const left = launch(['archive-wal', `pg_wal/${names[2]}`]);
    assert.deepEqual([left.code, left.nodeStarts], [0, 1], left.stderr);
    // (node, for the calls below, finds no other segment ready: it starts no push)
    for (const n of names.slice(0, 2)) rmSync(join(walDir, 'archive_status', `${n}.ready`));
    worker({ pid: process.pid, host: `${hostname()}x` });
    assert.equal(launch(['archive-wal', `pg_wal/${names[2]}`]).nodeStarts, 1, 'a push of another host');
    worker({ pid: 2 ** 22 + 12345, host: hostname() });
    assert.equal(launch(['archive-wal', `pg_wal/${names[2]}`]).nodeStarts, 1, 'a push that is gone');
    rmSync(join(area, 'worker.json'));
    const none = launch(['archive-wal', `pg_wal/${names[2]}`]);
    assert.deepEqual([none.code, none.nodeStarts], [0, 1], none.stderr);
  });

  it('falls back when the segment was written again (same bytes, same size) or its record is gone', async () => {
    const names = await ready(0x10, 3);
    const area = await firstCall(names);
    // rewritten with the same bytes: its ctime moved, the mark no longer names it
    writeFileSync(join(walDir, names[1]!), readFileSync(join(walDir, names[1]!)));
    const rewritten = launch(['archive-wal', `pg_wal/${names[1]}`]);
    assert.equal(rewritten.nodeStarts, 1);
    assert.equal(rewritten.code, 0, rewritten.stderr); // node checks the bytes against the record: the same
    // the identity matches, the record is not in the repository
    assert.ok(existsSync(join(area, `${names[2]}.ok`)));
    rmSync(join(sb.repo, 'pg', 'wal', `${names[2]}.json`));
    const gone = launch(['archive-wal', `pg_wal/${names[2]}`]);
    assert.equal(gone.nodeStarts, 1);
    assert.equal(gone.code, 0, gone.stderr);
    assert.ok(existsSync(join(sb.repo, 'pg', 'wal', `${names[2]}.json`)), 'node stored it again');
  });

  it('never trusts a crafted pointer: an area outside the spool, a line too long, a field missing, a pointer others can write or a symbolic link', async () => {
    const names = await ready(0x20, 3);
    const area = await firstCall(names);
    const [pointer] = pointers();
    const good = readFileSync(pointer!, 'utf8');
    const call = () => launch(['archive-wal', `pg_wal/${names[1]}`]).nodeStarts;
    const restore = () => {
      rmSync(pointer!, { force: true });
      writeFileSync(pointer!, good, { mode: 0o600 });
    };
    assert.equal(call(), 0);
    // an area outside the spool root holding a copy of the marks (a path as long as the spool's, with the area's key)
    const evil = join(sb.root, 'evil', 'spool', 'pg-archive', basename(area));
    mkdirSync(evil, { recursive: true, mode: 0o700 });
    cpSync(area, evil, { recursive: true });
    for (const crafted of [
      good.replace(/^area .*$/m, `area ${evil}`),
      good.replace(/^area .*$/m, `area ${area}/../../../../evil/pg-archive/0123456789abcdef`),
      good.replace(/^spool .*$/m, `spool ${join(sb.root, 'evil', 'spool')}`), // spool and area no longer agree
      good.replace(/^area .*$/m, `area ${area}x`),
      // the same directories, through parts node's path.resolve would have removed
      good.replace(/^spool (.*)$/m, 'spool $1/../spool').replace(/^area (.*)\/(pg-archive\/.*)$/m, 'area $1/../spool/$2'),
      good.replace(/^area .*\n/m, ''),
      good.replace(/^end\n/m, ''),
      good.replace(/^end\n/m, 'end\nmore\n'),
      good.replace(/^repo .*$/m, `repo ${'r'.repeat(300_000)}`),
      good.replace(/^env (\d+)$/m, (_m, n: string) => `env ${Number(n) + 1}`),
      good.replace(/^kind archive$/m, 'kind restore'),
      good.replace(/^cwd .*$/m, 'cwd /'),
      good.replace(/^config (\S+) absent$/m, 'config $1 1 2 3 4 5'),
      '',
    ]) {
      writeFileSync(pointer!, crafted, { mode: 0o600 });
      assert.equal(call(), 1, crafted.slice(0, 400));
      restore();
    }
    // the good pointer, but writable by others, or a symbolic link to it, or the area writable by others
    chmodSync(pointer!, 0o622);
    assert.equal(call(), 1);
    restore();
    renameSync(pointer!, `${pointer}.real`);
    symlinkSync(`${pointer}.real`, pointer!);
    assert.equal(call(), 1);
    rmSync(pointer!);
    rmSync(`${pointer}.real`);
    restore();
    chmodSync(area, 0o777);
    assert.equal(call(), 1);
    chmodSync(area, 0o700);
    // a crafted mark: another file's identity, a record outside the repository, a mark that is a link
    const markFile = join(area, `${names[2]}.ok`);
    const mark = readFileSync(markFile, 'utf8');
    for (const crafted of [
      mark.replace(/^file (\d+) (\d+)/m, (_m, d: string, i: string) => `file ${d} ${BigInt(i) + 1n}`),
      mark.replace(/^record .*$/m, `record ${join(sb.root, 'evil', `${names[2]}.json`)}`),
      mark.replace(/^name .*$/m, `name ${names[1]}`),
      mark.replace(/^size .*$/m, 'size 0'),
      mark.replace(/^record .*\n/m, ''),
      mark.replace(/^file .*\n/m, ''),
    ]) {
      writeFileSync(join(sb.root, 'evil', `${names[2]}.json`), '{}');
      writeFileSync(markFile, crafted);
      assert.equal(launch(['archive-wal', `pg_wal/${names[2]}`]).nodeStarts, 1, crafted);
    }
    writeFileSync(markFile, mark);
    assert.equal(launch(['archive-wal', `pg_wal/${names[2]}`]).nodeStarts, 0, 'the mark as the push wrote it');
    restore();
    assert.equal(call(), 0, 'the good pointer answers again');
  });

  it('falls back when the environment or the config changed since node wrote the pointer', async () => {
    const names = await ready(0x30, 5);
    await firstCall(names);
    assert.equal(launch(['archive-wal', `pg_wal/${names[1]}`]).nodeStarts, 0);
    assert.equal(launch(['archive-wal', `pg_wal/${names[2]}`], { env: { ...env, PRISM_BACKUP_VERBOSE: 'true' } }).nodeStarts, 1);
    assert.equal(launch(['archive-wal', `pg_wal/${names[2]}`], { env: { ...env, HOME: '/nonexistent' } }).nodeStarts, 1);
    const { HOME: _h, ...noHome } = env;
    assert.equal(launch(['archive-wal', `pg_wal/${names[2]}`], { env: noHome }).nodeStarts, 1);
    // the config file appears (with the same resolved settings): node answers and writes the pointer again
    writeFileSync(join(sb.home, 'config', 'backup.json'), '{}\n');
    assert.equal(launch(['archive-wal', `pg_wal/${names[2]}`]).nodeStarts, 1);
    assert.equal(launch(['archive-wal', `pg_wal/${names[3]}`]).nodeStarts, 0);
    // edited to send the WAL elsewhere: never answered from the old pointer
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { pitr: { archive_async: false } } }));
    const off = launch(['archive-wal', `pg_wal/${names[4]}`]);
    assert.equal(off.nodeStarts, 1);
    assert.equal(off.code, 0, off.stderr);
    // environment too large for a pointer: node, and no crash
    const big = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`PRISM_PAD_${i}`, 'x'.repeat(100_000)]));
    const r = launch(['archive-wal', `pg_wal/${names[4]}`], { env: { ...env, ...big } });
    assert.equal(r.signal, null);
    assert.equal(r.nodeStarts, 1);
  });

  it('paths that are not UTF-8 or very long, and unknown commands, go to node without a crash', async () => {
    const names = await ready(0x40, 2);
    await firstCall(names);
    // the same WAL directory through a name with the byte 0xFF: node (which cannot name it) answers
    const odd = launch([], { shell: `ln -s pg_wal "$(printf 'w\\377')" && exec "$L" archive-wal "$(printf 'w\\377')/${names[1]}"` });
    assert.equal(odd.signal, null);
    assert.equal(odd.nodeStarts, 1);
    // an overlong encoding of '/' is not UTF-8 either
    const overlong = launch([], { shell: `ln -s pg_wal "$(printf 'v\\300\\257')" && exec "$L" archive-wal "$(printf 'v\\300\\257')/${names[1]}"` });
    assert.equal(overlong.nodeStarts, 1);
    const oddFlag = launch([], { shell: `exec "$L" restore-wal ${names[1]} pg_wal/RECOVERYXLOG --repo "$(printf '\\377')"` });
    assert.equal(oddFlag.nodeStarts, 1);
    for (const args of [
      ['archive-wal', `${'a/'.repeat(3000)}${names[1]}`],
      ['archive-wal', `pg_wal/${names[1]}`, '--repo', 'r'.repeat(70_000)],
      ['archive-wal', `pg_wal/${names[1]}`, '--spool-dir'],
      ['archive-wal'],
      ['archive-wal', 'pg_wal/00000002.history'],
      ['restore-wal', names[1]!],
      ['something-else', 'x'],
      [],
    ]) {
      const r = launch(args);
      assert.equal(r.signal, null, args.join(' ').slice(0, 80));
      assert.equal(r.nodeStarts, 1, args.join(' ').slice(0, 80));
    }
    assert.equal(launch(['archive-wal', `pg_wal/${names[1]}`]).nodeStarts, 0);
  });

  it('follows a symbolic link to pg_wal by its real path; the link moved to another directory falls back', async () => {
    const real = join(sb.root, 'wal-disk');
    mkdirSync(join(real, 'archive_status'), { recursive: true });
    const cluster = join(sb.root, 'cluster');
    mkdirSync(cluster);
    symlinkSync(real, join(cluster, 'pg_wal'));
    const names = await ready(0x50, 3, real);
    const first = launch(['archive-wal', `pg_wal/${names[0]}`], { cwd: cluster });
    assert.equal(first.code, 0, first.stderr);
    await until('the push', () => {
      const a = archiveArea();
      return a !== '' && existsSync(join(a, `${names[2]}.ok`)) && !existsSync(join(a, 'worker.json'));
    });
    assert.match(readFileSync(pointers()[0]!, 'utf8'), new RegExp(`^waldir ${real}$`, 'm'));
    assert.equal(launch(['archive-wal', `pg_wal/${names[1]}`], { cwd: cluster }).nodeStarts, 0);
    // the link now names another directory holding a copy of the same segment
    const other = join(sb.root, 'other-disk');
    cpSync(real, other, { recursive: true });
    rmSync(join(cluster, 'pg_wal'));
    symlinkSync(other, join(cluster, 'pg_wal'));
    assert.equal(launch(['archive-wal', `pg_wal/${names[2]}`], { cwd: cluster }).nodeStarts, 1);
  });

  it('restore: moves a segment fetched ahead into %p and removes its mark; a changed copy or a killed fetch\u2019s temporary file is never served', async () => {
    const names = await ready(0x60, 6);
    for (const n of names) {
      const r = launch(['archive-wal', `pg_wal/${n}`, '--no-async']);
      assert.equal(r.code, 0, r.stderr);
    }
    const rec = join(sb.root, 'recovering');
    mkdirSync(join(rec, 'pg_wal'), { recursive: true });
    const xlog = join(rec, 'pg_wal', 'RECOVERYXLOG');
    const restore = (n: string) => launch(['restore-wal', n, 'pg_wal/RECOVERYXLOG', '--prefetch', '3'], { cwd: rec });
    const first = restore(names[0]!);
    assert.equal(first.nodeStarts, 1);
    assert.equal(first.code, 0, first.stderr);
    const areaRoot = join(sb.home, 'spool', 'pg-restore');
    const area = () => join(areaRoot, readdirSync(areaRoot)[0]!);
    await until('the fetch ahead', () => existsSync(areaRoot) && [1, 2, 3].every((k) => existsSync(join(area(), `${names[k]}.ok`))));
    try {
      const hit = restore(names[1]!);
      assert.deepEqual([hit.code, hit.nodeStarts], [0, 0]);
      assert.deepEqual(readFileSync(xlog), readFileSync(join(walDir, names[1]!)));
      assert.equal(existsSync(join(area(), names[1]!)), false);
      assert.equal(existsSync(join(area(), `${names[1]}.ok`)), false);
      // the copy written again (same bytes): node checks it against the record
      await until('the next one', () => existsSync(join(area(), `${names[4]}.ok`)));
      writeFileSync(join(area(), names[2]!), readFileSync(join(area(), names[2]!)));
      const changed = restore(names[2]!);
      assert.equal(changed.nodeStarts, 1);
      assert.equal(changed.code, 0, changed.stderr);
      assert.deepEqual(readFileSync(xlog), readFileSync(join(walDir, names[2]!)));
      // a killed fetch: its temporary file (whole, even) and the mark of the file it never renamed
      const a = area();
      renameSync(join(a, names[3]!), join(a, `.${names[3]}.999999.tmp`));
      const killed = restore(names[3]!);
      assert.equal(killed.nodeStarts, 1);
      assert.equal(killed.code, 0, killed.stderr);
      assert.deepEqual(readFileSync(xlog), readFileSync(join(walDir, names[3]!)));
    } finally {
      const end = spawnSync(process.execPath, [PRISM_BIN, 'pg', 'restore-end', 'pg_wal'], { cwd: rec, env, encoding: 'utf8' });
      assert.equal(end.status, 0, end.stderr);
    }
  });
});
