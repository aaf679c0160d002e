import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, existsSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isPrismError } from '../../errors/index.js';
import { mariadb, uniqueName } from '../../testing/databases.js';
import { resolveDbTarget, runNative, withNativeAuth } from './db-credentials.js';

const SECRET = 'Pw:"q\\uo\'te s#cr3t';

describe('resolveDbTarget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prism-cred-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the URL password first, then password_file, then password_env', () => {
    const file = join(dir, 'pw');
    writeFileSync(file, 'fromfile\nignored\n');
    assert.equal(resolveDbTarget({ url: 'postgres://u:fromurl@h/db', password_file: file }).password, 'fromurl');
    assert.equal(resolveDbTarget({ url: 'postgres://u@h/db', password_file: file, password_env: 'PW' }, { PW: 'env' }).password, 'fromfile');
    assert.equal(resolveDbTarget({ url: 'postgres://u@h/db', password_env: 'PW' }, { PW: 'env' }).password, 'env');
    assert.equal(resolveDbTarget({ url: 'postgres://u@h/db' }).password, undefined);
    assert.equal(resolveDbTarget({ url: 'postgres://u:fromurl@h/db' }).shown, 'postgres://u@h:5432/db');
  });

  it('refuses a missing password file or variable', () => {
    assert.throws(
      () => resolveDbTarget({ url: 'mysql://u@h/db', password_file: join(dir, 'none') }),
      (e) => isPrismError(e) && e.code === 'CONFIG_INVALID',
    );
    assert.throws(
      () => resolveDbTarget({ url: 'mysql://u@h/db', password_env: 'PRISM_NOT_SET_X' }, {}),
      (e) => isPrismError(e) && e.code === 'CONFIG_INVALID' && /PRISM_NOT_SET_X/.test(e.message),
    );
  });
});

describe('withNativeAuth / runNative (real servers)', () => {
  const user = uniqueName('prism_u').slice(0, 32);
  before(() =>
    mariadb(
      'test',
      `CREATE USER '${user}'@'%' IDENTIFIED BY '${SECRET.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'; GRANT SELECT ON test.* TO '${user}'@'%';`,
    ),
  );
  after(() => mariadb('test', `DROP USER IF EXISTS '${user}'@'%';`));
  const url = (pw: string) => `mysql://${user}:${encodeURIComponent(pw)}@127.0.0.1:3306/test`;

  it('writes a 0600 file in a 0700 directory and removes it afterwards', async () => {
    for (const u of [url(SECRET), `postgres://postgres:${encodeURIComponent(SECRET)}@127.0.0.1/test`]) {
      const t = resolveDbTarget({ url: u });
      let file = '';
      await withNativeAuth(t, async (auth) => {
        file = t.type === 'postgres' ? auth.env['PGPASSFILE']! : auth.args[0]!.replace('--defaults-extra-file=', '');
        assert.equal(statSync(file).mode & 0o777, 0o600);
        assert.equal(statSync(join(file, '..')).mode & 0o777, 0o700);
        assert.ok(readFileSync(file, 'utf8').length > 0);
        assert.equal(auth.env['PGPASSWORD'], undefined);
      });
      assert.equal(existsSync(file), false);
    }
  });

  it('logs in to MariaDB with a password full of quotes, which never shows in ps', async () => {
    const t = resolveDbTarget({ url: url(SECRET) });
    const seen: string[] = [];
    const probe = setInterval(() => {
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        try {
          seen.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
        } catch {
          /* gone */
        }
      }
    }, 20);
    try {
      const out = await runNative(t, 'mariadb', ['--batch', '--skip-column-names', '-e', 'SELECT CURRENT_USER(), SLEEP(0.3)', 'test']);
      assert.match(out, new RegExp(`^${user}@%\\t0`));
    } finally {
      clearInterval(probe);
    }
    assert.ok(
      seen.some((c) => c.includes('SLEEP(0.3)')),
      'the client was seen running',
    );
    assert.ok(!seen.some((c) => c.includes(SECRET) || c.includes('s#cr3t')));
  });

  it('a wrong password is DB_AUTH_FAILED and the message has no password', async () => {
    const t = resolveDbTarget({ url: url('wrong-pass-xyz') });
    await assert.rejects(
      runNative(t, 'mariadb', ['-e', 'SELECT 1', 'test']),
      (e) => isPrismError(e) && e.code === 'DB_AUTH_FAILED' && !e.message.includes('wrong-pass-xyz') && e.message.includes(t.shown),
    );
  });

  it('an unknown PostgreSQL role is DB_AUTH_FAILED, a closed port DB_UNREACHABLE, a missing tool DB_TOOL_FAILED', async () => {
    const role = resolveDbTarget({ url: 'postgres://no_such_role_x:pw@127.0.0.1/test' });
    await assert.rejects(runNative(role, 'psql', ['-Atc', 'select 1', 'test']), (e) => isPrismError(e) && e.code === 'DB_AUTH_FAILED');
    const closed = resolveDbTarget({ url: 'postgres://postgres:pw@127.0.0.1:1/test' });
    await assert.rejects(runNative(closed, 'psql', ['-Atc', 'select 1', 'test']), (e) => isPrismError(e) && e.code === 'DB_UNREACHABLE' && e.exitCode === 30);
    const myClosed = resolveDbTarget({ url: 'mysql://root@127.0.0.1:1/test' });
    await assert.rejects(runNative(myClosed, 'mariadb', ['-e', 'select 1', 'test']), (e) => isPrismError(e) && e.code === 'DB_UNREACHABLE');
    const nodb = resolveDbTarget({ url: 'postgres://postgres@127.0.0.1/no_such_db_x' });
    await assert.rejects(runNative(nodb, 'psql', ['-Atc', 'select 1', 'no_such_db_x']), (e) => isPrismError(e) && e.code === 'DB_UNREACHABLE');
    await assert.rejects(runNative(role, 'pg_no_such_tool', []), (e) => isPrismError(e) && e.code === 'DB_TOOL_FAILED');
  });

  it('streams stdin to the tool and stdout to a consumer', async () => {
    const t = resolveDbTarget({ url: 'postgres://postgres@127.0.0.1/test' });
    let got = '';
    await runNative(t, 'psql', ['-X', '-At', 'test'], {
      input: 'select 40 + 2;',
      stdout: async (out) => {
        for await (const b of out) got += String(b);
      },
    });
    assert.equal(got.trim(), '42');
  });

  it('a signal stops the tool (also one given already aborted): the run rejects with the reason given', async () => {
    const t = resolveDbTarget({ url: 'postgres://postgres@127.0.0.1/test' });
    const stop = new AbortController();
    const reason = new Error('the backup was interrupted');
    const running = runNative(t, 'psql', ['-X', '-At', '-c', 'select pg_sleep(30)', 'test'], { signal: stop.signal });
    setTimeout(() => stop.abort(reason), 200);
    await assert.rejects(running, (e) => e === reason);
    const already = new AbortController();
    already.abort(reason);
    await assert.rejects(runNative(t, 'psql', ['-X', '-At', '-c', 'select 1', 'test'], { signal: already.signal }), (e) => e === reason);
  });
});
