import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { PasswordSource } from '../core/password-source.js';
import { PrismError } from '../errors/index.js';
import { tempRootForFile } from '../testing/fixtures.js';
import { passwordFromFile, passwordSourceFromEnv, SYSTEMD_CREDENTIAL, type PasswordPrompt } from './password-sources.js';

const tempRoot = tempRootForFile();
let n = 0;
/** A fresh directory under the file's temporary root. */
function dir(): string {
  const d = join(tempRoot(), `case-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
}
function file(content: string | Buffer): string {
  const p = join(dir(), 'password');
  writeFileSync(p, content, { mode: 0o600 });
  return p;
}
function source(env: NodeJS.ProcessEnv, opts: Parameters<typeof passwordSourceFromEnv>[1] = {}): PasswordSource {
  const s = passwordSourceFromEnv(env, opts);
  assert.ok(s, 'a password source');
  return s;
}

/** The PrismError `promise` rejects with: PASSWORD_SOURCE (unless `code`), its message holding each fragment and, neither in it nor in its JSON, any of `secrets`. */
async function rejected(promise: Promise<unknown>, fragments: string[], secrets: string[] = [], code = 'PASSWORD_SOURCE'): Promise<PrismError> {
  const e = await promise.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof PrismError, `expected a PrismError, got ${String(e)}`);
  assert.equal(e.code, code);
  for (const f of fragments) assert.ok(e.message.includes(f), `${JSON.stringify(e.message)} should mention ${JSON.stringify(f)}`);
  const json = JSON.stringify(e.toJSON());
  for (const s of secrets) {
    assert.ok(!e.message.includes(s), `the message must not hold ${JSON.stringify(s)}: ${e.message}`);
    assert.ok(!json.includes(s), `the error's JSON must not hold ${JSON.stringify(s)}: ${json}`);
  }
  return e;
}

describe('password sources: PRISM_PASSWORD_FILE', () => {
  it('reads the file, without one final newline', async () => {
    const p = file('correct horse\n');
    const s = source({ PRISM_PASSWORD_FILE: p });
    assert.equal(s.origin, `PRISM_PASSWORD_FILE (${p})`);
    assert.equal((await s.read()).toString(), 'correct horse');
  });

  it('strips only one final "\\n" or "\\r\\n": other whitespace and a second newline are part of the password', async () => {
    assert.equal((await passwordFromFile(file('pw\r\n'), 'PRISM_PASSWORD_FILE')).toString(), 'pw');
    assert.equal((await passwordFromFile(file('pw\n\n'), 'PRISM_PASSWORD_FILE')).toString(), 'pw\n');
    assert.equal((await passwordFromFile(file('pw \t'), 'PRISM_PASSWORD_FILE')).toString(), 'pw \t');
    assert.equal((await passwordFromFile(file(' pw\r'), 'PRISM_PASSWORD_FILE')).toString(), ' pw\r');
    assert.equal((await passwordFromFile(file('line1\nline2\n'), 'PRISM_PASSWORD_FILE')).toString(), 'line1\nline2');
    const bytes = Buffer.from([0xff, 0x00, 0xc3, 0xa9, 0x0a]);
    assert.deepEqual(await passwordFromFile(file(bytes), 'PRISM_PASSWORD_FILE'), bytes.subarray(0, 4), 'bytes, not text');
  });

  it('an empty file, or one holding only a newline, is PASSWORD_SOURCE naming the variable and the path', async () => {
    for (const content of ['', '\n', '\r\n']) {
      const p = file(content);
      await rejected(source({ PRISM_PASSWORD_FILE: p }).read(), ['PRISM_PASSWORD_FILE', p, 'is empty']);
    }
  });

  it('a missing file or a directory is PASSWORD_SOURCE naming the variable and the path', async () => {
    const missing = join(dir(), 'no-such-file');
    const e = await rejected(source({ PRISM_PASSWORD_FILE: missing }).read(), ['PRISM_PASSWORD_FILE', missing, 'does not exist']);
    assert.equal(e.exitCode, 47);
    assert.equal(e.details.path, missing);
    const d = dir();
    await rejected(source({ PRISM_PASSWORD_FILE: d }).read(), ['PRISM_PASSWORD_FILE', d, 'is a directory']);
    await rejected(passwordFromFile(join(file('x'), 'below-a-file'), '--new-password-file'), ['--new-password-file', 'cannot be read', 'not a directory']);
  });

  it('a file over 64 KiB is refused without quoting it', async () => {
    const big = 'S3CRET'.repeat(11_000);
    await rejected(passwordFromFile(file(big), '--new-password-file'), ['--new-password-file', '64 KiB'], ['S3CRET']);
    const justFits = 'p'.repeat(64 * 1024);
    assert.equal((await passwordFromFile(file(`${justFits}\r\n`), 'x')).length, 64 * 1024);
    await rejected(passwordFromFile(file(`${justFits}p`), 'x'), ['64 KiB']);
  });

  it('a file that group and others can read is read all the same', async () => {
    const p = file('shared\n');
    writeFileSync(p, 'shared\n', { mode: 0o644 });
    assert.equal((await passwordFromFile(p, 'PRISM_PASSWORD_FILE')).toString(), 'shared');
  });

  it('a file read once serves every read, each a copy the caller may zero', async () => {
    const p = file('once\n');
    const s = source({ PRISM_PASSWORD_FILE: p });
    const first = await s.read();
    first.fill(0);
    writeFileSync(p, 'changed\n');
    assert.equal((await s.read()).toString(), 'once');
  });
});

describe('password sources: PRISM_PASSWORD_COMMAND', () => {
  it('runs the command with /bin/sh: its stdout without one final newline', async () => {
    const s = source({ PRISM_PASSWORD_COMMAND: "printf 'from a command\\n\\n' && echo 'a message' >&2" });
    assert.equal(s.origin, 'PRISM_PASSWORD_COMMAND');
    assert.equal((await s.read()).toString(), 'from a command\n');
    assert.equal((await source({ PRISM_PASSWORD_COMMAND: "printf 'crlf\\r\\n'" }).read()).toString(), 'crlf');
  });

  it('stdin is closed: a command that reads it gets nothing rather than waiting', async () => {
    await rejected(source({ PRISM_PASSWORD_COMMAND: 'cat' }).read(), ['PRISM_PASSWORD_COMMAND', 'printed nothing']);
  });

  it('is run only on the first read, and once for all reads', async () => {
    const d = dir();
    const marker = join(d, 'runs');
    const s = source({ PRISM_PASSWORD_COMMAND: `echo run >> '${marker}'; echo lazy` });
    assert.equal(existsSync(marker), false, 'not run before read()');
    const [a, b] = await Promise.all([s.read(), s.read()]);
    assert.equal((await s.read()).toString(), 'lazy');
    assert.deepEqual([a.toString(), b.toString()], ['lazy', 'lazy']);
    assert.equal(readFileSync(marker, 'utf8'), 'run\n', 'run exactly once');
  });

  it('a non-zero exit is PASSWORD_SOURCE naming the variable, not the output or the command', async () => {
    const e = await rejected(
      source({ PRISM_PASSWORD_COMMAND: 'echo leaked-S3CRET; exit 3' }).read(),
      ['PRISM_PASSWORD_COMMAND', 'status 3'],
      ['leaked-S3CRET'],
    );
    assert.equal(e.details.exitCode, 3);
  });

  it('a command killed by a signal is PASSWORD_SOURCE', async () => {
    const e = await rejected(source({ PRISM_PASSWORD_COMMAND: 'echo S3CRET; kill -TERM $$' }).read(), ['PRISM_PASSWORD_COMMAND', 'SIGTERM'], ['S3CRET']);
    assert.equal(e.details.signal, 'SIGTERM');
  });

  it('no output, or only a newline, is PASSWORD_SOURCE', async () => {
    await rejected(source({ PRISM_PASSWORD_COMMAND: 'true' }).read(), ['PRISM_PASSWORD_COMMAND', 'printed nothing']);
    await rejected(source({ PRISM_PASSWORD_COMMAND: 'echo' }).read(), ['printed nothing']);
  });

  it('more than 64 KiB of output is PASSWORD_SOURCE, without the output', async () => {
    await rejected(source({ PRISM_PASSWORD_COMMAND: 'yes S3CRET | head -c 100000' }).read(), ['PRISM_PASSWORD_COMMAND', '64 KiB'], ['S3CRET']);
    await rejected(source({ PRISM_PASSWORD_COMMAND: 'head -c 65537 /dev/zero' }).read(), ['64 KiB']);
    assert.equal((await source({ PRISM_PASSWORD_COMMAND: 'head -c 65536 /dev/zero; echo' }).read()).length, 64 * 1024);
  });

  it('a command that does not finish in time is stopped: PASSWORD_SOURCE', async () => {
    const s = source({ PRISM_PASSWORD_COMMAND: 'echo S3CRET; sleep 5' }, { commandTimeoutMs: 200 });
    const e = await rejected(s.read(), ['PRISM_PASSWORD_COMMAND', 'did not finish'], ['S3CRET']);
    assert.equal(e.details.timeoutMs, 200);
  });

  it('a failed read is tried again at the next read (the next job of the service); a good one is kept', async () => {
    const d = dir();
    const marker = join(d, 'runs');
    const s = source({ PRISM_PASSWORD_COMMAND: `echo run >> '${marker}'; [ "$(wc -l < '${marker}')" -ge 2 ] || exit 1; echo second` });
    await rejected(s.read(), ['status 1']);
    assert.equal((await s.read()).toString(), 'second');
    assert.equal((await s.read()).toString(), 'second');
    assert.equal(readFileSync(marker, 'utf8'), 'run\nrun\n', 'run once for the failure and once for the password');
  });
});

describe('password sources: PRISM_PASSWORD, the systemd credential, the prompt', () => {
  it('PRISM_PASSWORD is the value itself, as UTF-8', async () => {
    const s = source({ PRISM_PASSWORD: 'pässwort\n' });
    assert.equal(s.origin, 'PRISM_PASSWORD');
    assert.deepEqual(await s.read(), Buffer.from('pässwort\n', 'utf8'));
  });

  it('the systemd credential prism-password in CREDENTIALS_DIRECTORY, with the file rules', async () => {
    const creds = dir();
    writeFileSync(join(creds, SYSTEMD_CREDENTIAL), 'from systemd\n');
    const s = source({ CREDENTIALS_DIRECTORY: creds });
    assert.equal(s.origin, 'systemd credential prism-password');
    assert.equal((await s.read()).toString(), 'from systemd');
    const empty = dir();
    writeFileSync(join(empty, SYSTEMD_CREDENTIAL), '');
    await rejected(source({ CREDENTIALS_DIRECTORY: empty }).read(), ['systemd credential prism-password', join(empty, SYSTEMD_CREDENTIAL), 'is empty']);
  });

  it('a CREDENTIALS_DIRECTORY without prism-password is no source', () => {
    assert.equal(passwordSourceFromEnv({ CREDENTIALS_DIRECTORY: dir() }, {}), undefined);
  });

  it('the prompt: only on a terminal, asked once, with the question read() is given', async () => {
    const asked: string[] = [];
    const prompt: PasswordPrompt = async (q) => {
      asked.push(q);
      return Buffer.from('typed');
    };
    assert.equal(passwordSourceFromEnv({}, { prompt, isTTY: false }), undefined);
    assert.equal(passwordSourceFromEnv({}, {}), undefined);
    const s = source({}, { prompt, isTTY: true });
    assert.equal(s.origin, 'terminal prompt');
    assert.deepEqual(asked, [], 'nothing asked before read()');
    assert.equal((await s.read('Password for the repository at /srv/r: ')).toString(), 'typed');
    assert.equal((await s.read('Password for the repository at /srv/r: ')).toString(), 'typed');
    assert.deepEqual(asked, ['Password for the repository at /srv/r: ']);
  });

  it("the prompt of a new repository's password is asked with confirm", async () => {
    const asked: unknown[] = [];
    const prompt: PasswordPrompt = async (q, o) => {
      asked.push([q, o?.confirm]);
      return Buffer.from('typed');
    };
    await source({}, { prompt, isTTY: true }).read('Password for the new repository at /srv/r: ', { confirm: true });
    await source({}, { prompt, isTTY: true }).read('Password for the repository at /srv/r: ');
    assert.deepEqual(asked, [
      ['Password for the new repository at /srv/r: ', true],
      ['Password for the repository at /srv/r: ', false],
    ]);
  });
});

describe('password sources: precedence', () => {
  it('two or three of the variables set is PASSWORD_SOURCE naming them, not their values', () => {
    const p = file('x');
    const env = { PRISM_PASSWORD_FILE: p, PRISM_PASSWORD_COMMAND: 'echo cmd-S3CRET', PRISM_PASSWORD: 'env-S3CRET' };
    assert.throws(
      () => passwordSourceFromEnv({ PRISM_PASSWORD_FILE: p, PRISM_PASSWORD: 'env-S3CRET' }),
      (e: unknown) =>
        e instanceof PrismError &&
        e.code === 'PASSWORD_SOURCE' &&
        /PRISM_PASSWORD_FILE and PRISM_PASSWORD are both set/.test(e.message) &&
        /Keep one/.test(e.message),
    );
    let caught: unknown;
    try {
      passwordSourceFromEnv(env);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof PrismError && caught.code === 'PASSWORD_SOURCE');
    assert.match(caught.message, /PRISM_PASSWORD_FILE, PRISM_PASSWORD_COMMAND and PRISM_PASSWORD are all set/);
    assert.deepEqual(caught.details.sources, ['PRISM_PASSWORD_FILE', 'PRISM_PASSWORD_COMMAND', 'PRISM_PASSWORD']);
    const json = JSON.stringify(caught.toJSON());
    assert.doesNotMatch(json, /S3CRET/);
    assert.doesNotMatch(caught.message, /S3CRET/);
  });

  it('an empty variable counts as unset', async () => {
    const s = source({ PRISM_PASSWORD_FILE: '', PRISM_PASSWORD_COMMAND: '', PRISM_PASSWORD: 'the one' });
    assert.equal(s.origin, 'PRISM_PASSWORD');
    assert.equal(passwordSourceFromEnv({ PRISM_PASSWORD: '', CREDENTIALS_DIRECTORY: '' }), undefined);
  });

  it('a variable wins over the systemd credential, which wins over the prompt', async () => {
    const creds = dir();
    writeFileSync(join(creds, SYSTEMD_CREDENTIAL), 'credential\n');
    const prompt: PasswordPrompt = async () => assert.fail('the prompt must not be asked');
    const opts = { prompt, isTTY: true };
    assert.equal((await source({ CREDENTIALS_DIRECTORY: creds, PRISM_PASSWORD_FILE: file('file\n') }, opts).read()).toString(), 'file');
    assert.equal((await source({ CREDENTIALS_DIRECTORY: creds, PRISM_PASSWORD_COMMAND: 'echo command' }, opts).read()).toString(), 'command');
    assert.equal((await source({ CREDENTIALS_DIRECTORY: creds, PRISM_PASSWORD: 'env' }, opts).read()).toString(), 'env');
    assert.equal((await source({ CREDENTIALS_DIRECTORY: creds }, opts).read()).toString(), 'credential');
  });
});
