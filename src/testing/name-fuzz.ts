/**
 * One round of the name fuzz: a data directory full of odd names (testing/odd-names.ts) goes
 * through the CLI as a user would run it (backup, verify, list, restore elsewhere, restore in
 * place over a changed tree, health check, incremental backup, prune) and must come back
 * byte-exact each time. Used by a small test and by `npm run fuzz:names` for long runs.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstDifference, listBytes, writeOddTree, type OddEntry } from './odd-names.js';
import { displayName, nameFromBytes } from '../core/byte-names.js';
import { PRISM_BIN, prism, sandbox, type CliResult } from './fixtures.js';

export interface NameFuzzRound {
  seed: number;
  names: number;
  /** What went wrong, empty when the round passed. */
  failures: string[];
}

export function nameFuzzRound(seed: number, names: number): NameFuzzRound {
  const sb = sandbox();
  const failures: string[] = [];
  const run = (what: string, args: string[]): CliResult | undefined => {
    const r = prism(args, sb.env);
    if (r.code !== 0) failures.push(`${what}: exit ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' | ')}`);
    return r.code === 0 ? r : undefined;
  };
  const expectSame = (what: string, a: string, b: string): void => {
    const d = firstDifference(listBytes(a), listBytes(b));
    if (d) failures.push(`${what}: ${d}`);
  };
  try {
    const hot = join(sb.home, 'level-1-hot');
    const written: OddEntry[] = writeOddTree(hot, names, seed);
    const created = run('backup create', ['backup', 'create', '--type', 'full', '--json']);
    if (!created) return { seed, names, failures };
    const m = JSON.parse(created.stdout) as { id: string; status: string; warnings: unknown[]; stats: { files: number } };
    const files = written.filter((w) => w.kind === 'file').length;
    if (m.status !== 'completed' || m.warnings.length > 0) failures.push(`backup create: status ${m.status}, warnings ${JSON.stringify(m.warnings)}`);
    if (m.stats.files !== files) failures.push(`backup create: ${m.stats.files} files stored, ${files} written`);
    run('backup verify', ['backup', 'verify', m.id]);
    const ls = run('backup ls', ['backup', 'ls', m.id, 'level-1-hot', '-r']);
    if (ls && /[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(ls.stdout)) failures.push('backup ls: a control character reached the terminal');
    // a name is typed as ls shows it: dump a few files by their displayed paths
    for (const w of written.filter((e) => e.kind === 'file').slice(0, 3)) {
      const shown = ['level-1-hot', ...nameFromBytes(w.path).split('/')].map(displayName).join('/');
      const r = spawnSync(process.execPath, [PRISM_BIN, 'backup', 'dump', m.id, shown], { env: { ...process.env, ...sb.env } });
      const want = readFileSync(Buffer.concat([Buffer.from(`${hot}/`), w.path]));
      if (r.status !== 0 || !Buffer.from(r.stdout).equals(want))
        failures.push(`backup dump ${JSON.stringify(shown)}: exit ${r.status}, ${Buffer.from(r.stderr).toString().trim()}`);
    }
    const target = join(sb.root, 'restored');
    if (run('restore --target', ['backup', 'restore', m.id, '--target', target, '--json'])) expectSame('restore --target', hot, join(target, 'level-1-hot'));
    const before = listBytes(hot);
    // change the live tree: drop some entries, add one, then restore in place
    for (const w of written.slice(0, Math.ceil(written.length / 4))) rmSync(Buffer.concat([Buffer.from(`${hot}/`), w.path]), { recursive: true, force: true });
    writeFileSync(join(hot, 'added-after-backup'), 'x');
    if (run('restore in place', ['backup', 'restore', m.id, '--confirm', '--no-safety-backup', '--json'])) {
      const d = firstDifference(before, listBytes(hot));
      if (d) failures.push(`restore in place: ${d}`);
    }
    const health = run('health check data', ['health', 'check', 'data', '--json']);
    if (health) {
      const h = JSON.parse(health.stdout) as { files: number; since_backup: { added: string[]; deleted: string[] } | null };
      if (h.files !== files) failures.push(`health check data: ${h.files} files seen, ${files} present`);
      if (h.since_backup && (h.since_backup.added.length > 0 || h.since_backup.deleted.length > 0))
        failures.push(`health check data: sees names added/deleted after an exact restore: ${JSON.stringify(h.since_backup)}`);
    }
    run('backup create (incremental)', ['backup', 'create', '--type', 'incremental', '--json']);
    run('backup prune', ['backup', 'prune', '--max-unused', '0']);
    run('backup verify --all', ['backup', 'verify', '--all']);
  } finally {
    sb.cleanup();
  }
  return { seed, names, failures };
}
