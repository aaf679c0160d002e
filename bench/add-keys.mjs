#!/usr/bin/env node
// bench/add-keys.mjs — adds key files to the encrypted prism repository at $PRISM_BACKUP_PATH
// (untimed preparation of bench/run.sh's `open20` step), then says which key prism tries last.
//
//   node bench/add-keys.mjs COUNT OUT_PASSWORD_FILE
//
// The repository opens with the password of $PRISM_PASSWORD_FILE. Key i gets the password
// "pbench-extra-i". Keys are added with `$PRISM_CMD key add --new-password-file` when the CLI
// has it, else with repo/keyring.ts's writeKeyFile through dist/ (same key-derivation
// parameters: calibrateScrypt, as `prism key add` does). Then the order in which prism tries
// key files to open the repository is applied (repo/keyring.ts unlockWithPassword: the
// listing of keys/ sorted by name, newest generation first, two at a time) and the password
// of the key tried last is written to OUT_PASSWORD_FILE (0600), its id printed on stdout.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [countArg, outFile] = process.argv.slice(2);
const count = Number(countArg);
if (!Number.isInteger(count) || count < 0 || !outFile) {
  console.error('usage: node bench/add-keys.mjs COUNT OUT_PASSWORD_FILE   (env: PRISM_BACKUP_PATH, PRISM_PASSWORD_FILE, PRISM_CMD)');
  process.exit(2);
}
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repo = process.env.PRISM_BACKUP_PATH;
const pwFile = process.env.PRISM_PASSWORD_FILE;
if (!repo || !pwFile) throw new Error('PRISM_BACKUP_PATH and PRISM_PASSWORD_FILE must be set');
const prismCmd = (process.env.PRISM_CMD ?? path.join(ROOT, 'bin/prism.js')).split(' ');
const keysDir = path.join(repo, 'keys');
const firstPassword = fs.readFileSync(pwFile, 'utf8').replace(/\r?\n$/, '');

/** id -> password of every key file we know the password of. */
const passwords = new Map(fs.readdirSync(keysDir).map((n) => [n.replace(/\.json$/, ''), firstPassword]));
const hasKeyAdd = (() => {
  try {
    const out = execFileSync(prismCmd[0], [...prismCmd.slice(1), 'key', 'add', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.startsWith('Usage: prism key add');
  } catch {
    return false;
  }
})();

const tmp = fs.mkdtempSync(path.join(path.dirname(outFile), 'newpw-'));
if (hasKeyAdd) {
  for (let i = 1; i <= count; i++) {
    const f = path.join(tmp, `${i}`);
    fs.writeFileSync(f, `pbench-extra-${i}\n`, { mode: 0o600 });
    const out = execFileSync(prismCmd[0], [...prismCmd.slice(1), 'key', 'add', '--new-password-file', f, '--json'], { encoding: 'utf8' });
    passwords.set(JSON.parse(out).id, `pbench-extra-${i}`);
  }
} else if (count > 0) {
  const dist = (p) => import(path.join(ROOT, 'dist', p));
  const [{ openBackend }, keyring, { calibrateScrypt }] = await Promise.all([
    dist('repo/open-backend.js'),
    dist('repo/keyring.js'),
    dist('codec/master-key.js'),
  ]);
  const backend = openBackend(repo);
  const config = JSON.parse(fs.readFileSync(path.join(repo, 'config.json'), 'utf8'));
  const u = await keyring.unlockWithPassword(backend, config, Buffer.from(firstPassword), 'PRISM_PASSWORD_FILE');
  const params = await calibrateScrypt();
  for (let i = 1; i <= count; i++) {
    const id = await keyring.writeKeyFile(backend, config, u, Buffer.from(`pbench-extra-${i}`), params, new Date());
    passwords.set(id, `pbench-extra-${i}`);
  }
}
fs.rmSync(tmp, { recursive: true, force: true });

// the order of unlockWithPassword: sorted listing, stable sort by generation (newest first)
const files = fs
  .readdirSync(keysDir)
  .filter((n) => /^[0-9a-f]{16}\.json$/.test(n))
  .sort()
  .map((n) => ({ id: n.slice(0, -5), generation: JSON.parse(fs.readFileSync(path.join(keysDir, n), 'utf8')).generation }));
files.sort((a, b) => b.generation - a.generation);
const last = files.at(-1);
if (!passwords.has(last.id)) throw new Error(`key ${last.id} was not added here: its password is unknown`);
fs.writeFileSync(outFile, passwords.get(last.id) + '\n', { mode: 0o600 });
console.log(JSON.stringify({ keys: files.length, added: count, via: hasKeyAdd ? 'prism key add' : 'dist/repo/keyring.js writeKeyFile', last: last.id }));
