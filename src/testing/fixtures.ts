/** Helpers shared by the tests: temporary data directories, the CLI as a process, tree read-back. */
import { spawn, spawnSync } from 'node:child_process';
import { after, before } from 'node:test';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppContext } from '../app/index.js';
import { loadConfig, type Env } from '../config/index.js';
import { FixedClock, type Clock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import type { Repository, TreeNode } from '../repo/index.js';

export const PRISM_BIN = fileURLToPath(new URL('../../bin/prism.js', import.meta.url));

export interface Sandbox {
  root: string;
  home: string;
  repo: string;
  env: Record<string, string>;
  cleanup(): void;
}

/** A temporary PRISM_HOME (with the SOP's folders) and repository path. */
export function sandbox(opts: { init?: boolean } = {}): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'prism-test-'));
  const home = join(root, 'home');
  const repo = join(root, 'repo');
  if (opts.init !== false) for (const d of ['level-1-hot', 'level-2-warm', 'level-3-cold', 'config', 'logs']) mkdirSync(join(home, d), { recursive: true });
  return {
    root,
    home,
    repo,
    env: { PRISM_HOME: home, PRISM_BACKUP_PATH: repo },
    // retried: a background process of a test (a WAL push or fetch ahead) may still be writing its last file
    cleanup: () => rmSync(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }),
  };
}

/** A deterministic pseudo-random generator (mulberry32), so test data is reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reproducible pseudo-random bytes (xorshift32, a word at a time): fast, and not compressible. */
export function prngBytes(length: number, seed: number): Buffer {
  const buf = Buffer.alloc(length);
  const words = Math.floor(length / 4);
  const view = new Uint32Array(buf.buffer, buf.byteOffset, words);
  let x = seed >>> 0 || 1;
  const step = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  for (let i = 0; i < words; i++) view[i] = step();
  for (let i = words * 4; i < length; i++) buf[i] = step() & 0xff;
  return buf;
}

const WORDS = [
  'session',
  'gateway',
  'request',
  'token',
  'user',
  'latency',
  'error',
  'cache',
  'route',
  'tenant',
  'plugin',
  'config',
  'level',
  'warm',
  'cold',
  'hot',
];

/** Text like the gateway's JSON and logs (compressible). */
export function textData(n: number, seed: number): string {
  const rnd = prng(seed);
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    const line = `{"id":${(rnd() * 1e6) | 0},"event":"${WORDS[(rnd() * WORDS.length) | 0]}","msg":"${WORDS[(rnd() * WORDS.length) | 0]} ${WORDS[(rnd() * WORDS.length) | 0]}"}\n`;
    parts.push(line);
    len += line.length;
  }
  return parts.join('').slice(0, n);
}

/** Writes a small gateway-like data set into `home`; returns the number of files written. */
export function writeDataset(home: string, opts: { files?: number; seed?: number } = {}): number {
  const files = opts.files ?? 40;
  const seed = opts.seed ?? 1;
  for (let i = 0; i < files; i++) {
    const dir = join(home, ['level-1-hot', 'level-2-warm', 'level-3-cold'][i % 3]!, `shard-${i % 4}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `doc-${i}.json`), JSON.stringify({ doc: i, events: textData(2000 + i * 500, seed + i).split('\n') }));
  }
  writeFileSync(join(home, 'config', 'gateway.json'), JSON.stringify({ port: 8080, seed }, null, 2));
  mkdirSync(join(home, 'logs'), { recursive: true });
  writeFileSync(join(home, 'logs', 'gateway.log'), 'excluded\n');
  mkdirSync(join(home, 'temp'), { recursive: true });
  writeFileSync(join(home, 'temp', 'upload.part'), 'excluded\n');
  return files + 1;
}

/** An app context over a sandbox (no config file unless written), with a fixed clock by default. */
export function appContext(sb: Sandbox, env: Env = {}, clock: Clock = new FixedClock(new Date('2026-02-07T02:00:15Z'))): AppContext {
  return { config: loadConfig({ ...sb.env, ...env }), clock, logger: silentLogger };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `prism ARGS` as a process. */
export function prism(args: string[], env: Record<string, string>, opts: { uid?: number; gid?: number } = {}): CliResult {
  const base = { ...process.env, ...env, PRISM_BACKUP_VERBOSE: env.PRISM_BACKUP_VERBOSE ?? '' };
  const cmd = opts.uid !== undefined ? 'setpriv' : process.execPath;
  const argv =
    opts.uid !== undefined
      ? [`--reuid=${opts.uid}`, `--regid=${opts.gid ?? opts.uid}`, '--clear-groups', process.execPath, PRISM_BIN, ...args]
      : [PRISM_BIN, ...args];
  const r = spawnSync(cmd, argv, { env: base, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `prism ARGS` without waiting. */
export function prismAsync(args: string[], env: Record<string, string>) {
  return spawn(process.execPath, [PRISM_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `prism ARGS` as a process without blocking this one's event loop (a server of the test keeps answering): its exit code and output. */
export function prismRun(args: string[], env: Record<string, string>): Promise<CliResult> {
  const child = prismAsync(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

export function json<T = unknown>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

/** Reads every file of a backup's tree back from the repository: relative path → sha256 of content. */
export async function readBackTree(repo: Repository, treeId: string, prefix = ''): Promise<Map<string, { node: TreeNode; sha256?: string }>> {
  const out = new Map<string, { node: TreeNode; sha256?: string }>();
  for (const node of (await repo.readTree(treeId)).nodes) {
    const path = prefix ? `${prefix}/${node.name}` : node.name;
    if (node.type === 'dir') {
      out.set(path, { node });
      for (const [p, v] of await readBackTree(repo, node.subtree!, path)) out.set(p, v);
    } else if (node.type === 'file') {
      const h = createHash('sha256');
      for (const id of node.content ?? []) h.update(await repo.readBlob(id));
      out.set(path, { node, sha256: h.digest('hex') });
    } else {
      out.set(path, { node });
    }
  }
  return out;
}

/** relative path → sha256 of every regular file under `dir`, skipping top-level names in `skip`. */
export function hashTree(dir: string, skip: string[] = ['logs', 'temp', 'run'], prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!prefix && skip.includes(e.name)) continue;
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    const full = join(dir, e.name);
    if (e.isDirectory()) for (const [p, h] of hashTree(full, skip, rel)) out.set(p, h);
    else if (e.isFile()) out.set(rel, createHash('sha256').update(readFileSync(full)).digest('hex'));
  }
  return out;
}

/** A temporary directory for the whole test file: made before its tests, removed after. Returns its path getter. */
export function tempRootForFile(): () => string {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'prism-test-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  return () => root;
}

/** relative path → size of every file under dir (an empty map when dir is missing). */
export function sizeListing(dir: string, prefix = ''): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [p, size] of sizeListing(join(dir, e.name), rel)) out.set(p, size);
    else out.set(rel, statSync(join(dir, e.name)).size);
  }
  return out;
}

/** Waits until `cond` holds (checked every 20 ms), failing after `ms` with `what`. */
export async function waitFor<T>(what: string, cond: () => T | undefined | false, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
