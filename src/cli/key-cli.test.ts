import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { hashTree, json, prism, sandbox, writeDataset, type CliResult, type Sandbox } from '../testing/fixtures.js';

interface KeyRow {
  id: string;
  state: string;
  in_use: boolean;
  kdf?: { N: number; r: number; p: number };
}

const PASSWORDS = ['first-pw-4b7e1c', 'second-pw-93d0aa', 'third-pw-1f6c2e', 'recovered-pw-7a55d9'];

describe('prism key (CLI)', () => {
  let sb: Sandbox;
  let pw: string[];
  let outputs: string[];
  /** `prism ARGS` with the password of file `n`, the smallest key-derivation cost; every output is kept for the leak check. */
  const run = (args: string[], n: number | undefined, extra: Record<string, string> = {}): CliResult => {
    const r = prism(args, { ...sb.env, PRISM_KDF_MINIMUM: '1', ...(n !== undefined ? { PRISM_PASSWORD_FILE: pw[n]! } : {}), ...extra });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const ok = (r: CliResult): CliResult => {
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return r;
  };
  const keys = (n: number): KeyRow[] => json<{ keys: KeyRow[] }>(ok(run(['key', 'list', '--json'], n))).keys;

  beforeEach(() => {
    sb = sandbox({ init: false });
    outputs = [];
    pw = PASSWORDS.map((p, i) => {
      const file = join(sb.root, `pw${i}`);
      writeFileSync(file, `${p}\n`, { mode: 0o600 });
      return file;
    });
  });
  afterEach(() => {
    // no password ever appears in an output or a log
    const logs = existsSync(join(sb.home, 'logs')) ? readdirSync(join(sb.home, 'logs')).map((f) => readFileSync(join(sb.home, 'logs', f), 'utf8')) : [];
    for (const text of [...outputs, ...logs]) for (const p of PASSWORDS) assert.equal(text.includes(p), false, `a password in: ${text.slice(0, 300)}`);
    sb.cleanup();
  });

  it('init --encrypt, then backups with the same password; key add, remove, passwd; refusals change nothing', () => {
    const init = json<Record<string, unknown>>(ok(run(['init', '--encrypt', '--json'], 0)));
    assert.deepEqual(Object.keys(init).sort(), ['configFile', 'configWritten', 'created', 'home', 'repository']);
    assert.deepEqual({ ...(init.repository as object), key_id: undefined }, { path: sb.repo, created: true, encrypted: true, key_id: undefined });
    const again = ok(run(['init', '--encrypt'], undefined));
    assert.match(again.stdout, /exists already \(encrypted\); nothing changed/);

    writeDataset(sb.home, { files: 9 });
    const backup = json<{ id: string }>(ok(run(['backup', 'create', '--type', 'full', '--json'], 0)));
    assert.match(ok(run(['backup', 'list'], 0)).stdout, new RegExp(backup.id));
    const target = join(sb.root, 'restored');
    ok(run(['backup', 'restore', backup.id, '--target', target, '--confirm', '--json'], 0));
    assert.deepEqual(hashTree(target), hashTree(sb.home));

    const [first] = keys(0);
    assert.deepEqual([first!.state, first!.in_use, first!.kdf], ['current', true, { name: 'scrypt', N: 2 ** 14, r: 8, p: 1 }]);
    assert.match(ok(run(['key', 'list'], 0)).stdout, /\*[0-9a-f]{16} +current +1 +scrypt N=2\^14 r=8 p=1/);
    const added = json<{ id: string }>(ok(run(['key', 'add', '--new-password-file', pw[1]!, '--json'], 0)));
    assert.equal(keys(1).find((k) => k.in_use)!.id, added.id);

    const before = listing(sb.repo);
    const inUse = run(['key', 'remove', first!.id], 0);
    assert.equal(inUse.code, 50);
    assert.match(inUse.stderr, /ERR_PRISM_KEY.*open with another key/);
    const unknown = run(['key', 'remove', 'abcdef0123456789'], 0);
    assert.equal(unknown.code, 50);
    assert.match(unknown.stderr, /prism key list/);
    assert.deepEqual(listing(sb.repo), before);

    const changed = json<{ added: string; removed: string }>(ok(run(['key', 'passwd', '--new-password-file', pw[2]!, '--json'], 0)));
    assert.equal(changed.removed, first!.id);
    const old = run(['backup', 'list'], 0);
    assert.equal(old.code, 48);
    assert.match(old.stderr, /ERR_PRISM_WRONG_PASSWORD/);
    ok(run(['backup', 'list'], 2));
    ok(run(['key', 'remove', added.id], 2));
    assert.deepEqual(
      keys(2).map((k) => k.id),
      [changed.added],
    );
  });

  it('a wrong password: every key command exits 48 without a stack trace, and writes nothing', () => {
    ok(run(['init', '--encrypt'], 0));
    const [only] = keys(0);
    const before = listing(sb.repo);
    const out = join(sb.root, 'export.json');
    for (const args of [
      ['key', 'list'],
      ['key', 'list', '--json'],
      ['key', 'add', '--new-password-file', pw[2]!],
      ['key', 'remove', only!.id],
      ['key', 'passwd', '--new-password-file', pw[2]!],
      ['key', 'export'],
      ['key', 'export', '--paper', '--output', out],
      ['key', 'rotate'],
      ['key', 'rotate', '--rewrite-data', '--json'],
    ]) {
      const r = run(args, 1);
      assert.equal(r.code, 48, `${args.join(' ')}: ${r.stderr}`);
      assert.match(args.includes('--json') ? r.stdout : r.stderr, /ERR_PRISM_WRONG_PASSWORD/);
      assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /);
    }
    assert.equal(existsSync(out), false);
    assert.deepEqual(listing(sb.repo), before);
    // bad input: a usage error (exit 2) before the repository is touched
    for (const args of [
      ['key', 'rotate', '--lock-wait', 'banana'],
      ['key', 'rotat'],
    ]) {
      const r = run(args, 0);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /);
    }
    assert.deepEqual(listing(sb.repo), before);
  });

  it('crafted key files beside a good one are listed unusable; alone they fail the open with exit 49; a key file of another repository gives 48', () => {
    ok(run(['init', '--encrypt'], 0));
    const keysDir = join(sb.repo, 'keys');
    const [goodName] = readdirSync(keysDir);
    const good = JSON.parse(readFileSync(join(keysDir, goodName!), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(keysDir, '00000000000000a1.json'), JSON.stringify({ ...good, N: 2 ** 30 }));
    writeFileSync(join(keysDir, '00000000000000a2.json'), JSON.stringify({ ...good, r: 10 ** 6 }));
    writeFileSync(join(keysDir, '00000000000000a3.json'), JSON.stringify(good).slice(0, 50));
    writeFileSync(join(keysDir, '00000000000000a4.json'), JSON.stringify({ ...good, kdf: 'pbkdf2' }));
    const listed = keys(0);
    assert.deepEqual(
      listed.filter((k) => k.state === 'unusable').map((k) => k.id),
      ['00000000000000a1', '00000000000000a2', '00000000000000a3', '00000000000000a4'],
    );
    assert.match(ok(run(['key', 'list'], 0)).stdout, /00000000000000a1 +unusable .*scrypt N = 1073741824/);
    assert.equal(ok(run(['backup', 'list'], 0)).code, 0);

    const other = sandbox({ init: false });
    try {
      ok(prism(['init', '--encrypt'], { ...other.env, PRISM_KDF_MINIMUM: '1', PRISM_PASSWORD_FILE: pw[0]! }));
      const [theirs] = readdirSync(join(other.repo, 'keys'));
      writeFileSync(join(keysDir, goodName!), JSON.stringify({ ...good, N: 2 ** 30 }));
      const crafted = run(['backup', 'list'], 0);
      assert.equal(crafted.code, 49, crafted.stderr);
      assert.match(crafted.stderr, /ERR_PRISM_KEY_FILE/);
      // the other repository's key file, under the same password: sealed for that repository
      copyFileSync(join(other.repo, 'keys', theirs!), join(keysDir, theirs!));
      const foreign = run(['key', 'list'], 0);
      assert.equal(foreign.code, 48, foreign.stderr);
    } finally {
      other.cleanup();
    }
  });

  it('every password lost: an export (JSON or paper) and a new password bring the backups back; a typo names its line; another repository refuses it', () => {
    ok(run(['init', '--encrypt'], 0));
    writeDataset(sb.home, { files: 6 });
    const backup = json<{ id: string }>(ok(run(['backup', 'create', '--json'], 0)));
    const exported = ok(run(['key', 'export'], 0));
    assert.match(exported.stderr, /Warning: Whoever holds this key export can read every backup/);
    const jsonFile = join(sb.root, 'key.json');
    writeFileSync(jsonFile, exported.stdout);
    const paperFile = join(sb.root, 'key.txt');
    ok(run(['key', 'export', '--paper', '--output', paperFile], 0));
    assert.equal(statSync(paperFile).mode & 0o777, 0o600);
    const refused = run(['key', 'export', '--output', paperFile], 0);
    assert.equal(refused.code, 2);

    ok(run(['key', 'passwd', '--new-password-file', pw[1]!], 0));
    ok(run(['key', 'passwd', '--new-password-file', pw[2]!], 1));
    // pw[2] is "forgotten": nothing opens the repository now but the export
    assert.equal(run(['backup', 'list'], 1).code, 48);

    const lines = readFileSync(paperFile, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.startsWith(' 3: '));
    lines[at] = lines[at]!.replace(/^( 3: )(.)/, (_, p: string, c: string) => p + (c === 'a' ? 'b' : 'a'));
    const typoFile = join(sb.root, 'typo.txt');
    writeFileSync(typoFile, lines.join('\n'));
    const typo = run(['key', 'import', typoFile, '--new-password-file', pw[3]!], undefined);
    assert.equal(typo.code, 49, typo.stderr);
    assert.match(typo.stderr, new RegExp(`line ${at + 1}: key line 3 does not match its checksum`));

    const viaPaper = run(['key', 'import', paperFile, '--new-password-file', pw[3]!, '--json'], undefined);
    assert.equal(viaPaper.code, 0, viaPaper.stderr);
    ok(run(['key', 'import', jsonFile, '--new-password-file', pw[0]!], undefined));
    const target = join(sb.root, 'restored');
    ok(run(['backup', 'restore', backup.id, '--target', target, '--confirm'], 3));
    assert.deepEqual(hashTree(target), hashTree(sb.home));
    ok(run(['backup', 'list'], 0));

    const other = sandbox({ init: false });
    try {
      const env = { ...other.env, PRISM_KDF_MINIMUM: '1' };
      ok(prism(['init', '--encrypt'], { ...env, PRISM_PASSWORD_FILE: pw[0]! }));
      const before = listing(other.repo);
      const r = prism(['key', 'import', jsonFile, '--new-password-file', pw[3]!], env);
      outputs.push(r.stdout, r.stderr);
      assert.equal(r.code, 50, r.stderr);
      assert.match(r.stderr, /is one of repository [0-9a-f]{32}, not of the repository at/);
      assert.deepEqual(listing(other.repo), before);
    } finally {
      other.cleanup();
    }
  });

  it('without a password source and a terminal: init --encrypt and key add exit 46 naming where a password comes from; init says how to encrypt', () => {
    const init = run(['init', '--encrypt'], undefined);
    assert.equal(init.code, 46, init.stderr);
    assert.match(init.stderr, /ERR_PRISM_PASSWORD_MISSING.*PRISM_PASSWORD_FILE/);
    assert.equal(existsSync(join(sb.repo, 'config.json')), false);
    assert.match(ok(run(['init'], undefined)).stdout, /prism init --encrypt` before the first backup \(or set backup\.encryption\.enabled/);

    ok(run(['init', '--encrypt'], 0));
    const add = run(['key', 'add'], 0);
    assert.equal(add.code, 46);
    assert.match(add.stderr, /--new-password-file/);
    const empty = join(sb.root, 'empty');
    writeFileSync(empty, '');
    assert.equal(run(['key', 'add', '--new-password-file', empty], 0).code, 47);
    assert.equal(keys(0).length, 1);

    const plain = sandbox({ init: false });
    try {
      ok(prism(['init'], plain.env));
      ok(prism(['backup', 'create'], plain.env));
      const r = prism(['key', 'list'], { ...plain.env, PRISM_PASSWORD_FILE: pw[0]! });
      assert.equal(r.code, 50);
      assert.match(r.stderr, /not encrypted/);
      assert.match(ok(prism(['init', '--encrypt'], plain.env)).stdout, /exists already \(not encrypted/);
    } finally {
      plain.cleanup();
    }
  });

  it('key rotate: the same password opens the new key, another one is retired; --rewrite-data leaves no older key; JSON for scripts', () => {
    ok(run(['init', '--encrypt'], 0));
    writeDataset(sb.home, { files: 12 });
    const backup = json<{ id: string }>(ok(run(['backup', 'create', '--type', 'full', '--json'], 0)));
    ok(run(['key', 'add', '--new-password-file', pw[1]!], 0));
    const first = json<{ generation: number; retired_keys: string[]; packs_left: number; older_generations: number[] }>(
      ok(run(['key', 'rotate', '--json'], 0)),
    );
    assert.equal(first.generation, 2);
    assert.equal(first.retired_keys.length, 1);
    assert.ok(first.packs_left > 0);
    assert.deepEqual(first.older_generations, [1]);
    const refused = run(['backup', 'list'], 1);
    assert.equal(refused.code, 50, refused.stderr);
    assert.match(refused.stderr, /ERR_PRISM_KEY.*retired by `prism key rotate`/s);
    assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(
      keys(0)
        .map((k) => k.state)
        .sort(),
      ['current', 'retired'],
    );
    const text = ok(run(['key', 'rotate', '--rewrite-data'], 0)).stdout;
    assert.match(text, /New master key: generation 3/);
    assert.match(text, /no older master key is kept/);
    const target = join(sb.root, 'after-rotate');
    ok(run(['backup', 'restore', backup.id, '--target', target, '--confirm'], 0));
    assert.deepEqual(hashTree(target), hashTree(sb.home));
    assert.equal(ok(run(['backup', 'verify', '--all'], 0)).code, 0);
  });
});

function listing(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(dir, prefix))) {
    const rel = join(prefix, n);
    if (rel.startsWith('locks')) continue;
    if (statSync(join(dir, rel)).isDirectory()) out.push(...listing(dir, rel));
    else out.push(`${rel} ${readFileSync(join(dir, rel)).toString('base64').slice(0, 40)}`);
  }
  return out.sort();
}
