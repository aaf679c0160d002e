import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPrismError } from '../../errors/index.js';
import { displayDbUrl, parseDbUrl, redactDbUrl, withDatabase } from './db-url.js';

describe('parseDbUrl', () => {
  it('reads user, decoded password, host, port and database of a postgres URL', () => {
    const u = parseDbUrl('postgresql://app%40x:p%3Ass%2Fw%40rd@db.example:6543/sales?sslmode=require');
    assert.equal(u.type, 'postgres');
    assert.equal(u.user, 'app@x');
    assert.equal(u.password, 'p:ss/w@rd');
    assert.equal(u.host, 'db.example');
    assert.equal(u.port, 6543);
    assert.equal(u.database, 'sales');
    assert.deepEqual(u.params, { sslmode: 'require' });
  });

  it('defaults port and user per engine, takes mariadb:// and IPv6 hosts', () => {
    const p = parseDbUrl('postgres://127.0.0.1/test');
    assert.deepEqual([p.user, p.port, p.password], ['postgres', 5432, undefined]);
    const m = parseDbUrl('mariadb://[::1]/shop');
    assert.deepEqual([m.type, m.user, m.host, m.port], ['mysql', 'root', '::1', 3306]);
  });

  it('takes a unix-socket directory from ?host=', () => {
    const u = parseDbUrl('postgres://postgres@localhost/test?host=/var/run/postgresql');
    assert.equal(u.host, '/var/run/postgresql');
    assert.equal(displayDbUrl(u), 'postgres://postgres@localhost:5432/test?host=%2Fvar%2Frun%2Fpostgresql');
  });

  it('refuses bad URLs without echoing the password', () => {
    for (const bad of ['http://u:topsecret@h/db', 'postgres://u:topsecret@h', 'postgres://u:topsecret@h:99999/db', 'nonsense', 'mysql://u:topsecret@/db']) {
      assert.throws(
        () => parseDbUrl(bad),
        (e) => isPrismError(e) && e.code === 'INVALID_ARGUMENT' && !e.message.includes('topsecret'),
        bad,
      );
    }
    assert.throws(() => parseDbUrl('postgres://h/db', 'mysql'), /a mysql URL is expected/);
    assert.throws(
      () => parseDbUrl('postgres://u:topsecret@h', undefined, '--target'),
      /^PrismError: --target postgres:\/\/u:\*\*\*@h is not a valid database URL: no database name/,
    );
  });
});

describe('redactDbUrl / displayDbUrl', () => {
  it('never shows the password', () => {
    assert.equal(redactDbUrl('mysql://root:s3cr%40t@127.0.0.1:3306/test'), 'mysql://root:***@127.0.0.1:3306/test');
    assert.equal(redactDbUrl('postgres://u@h/db?password=abc&sslmode=off'), 'postgres://u@h/db?password=***&sslmode=off');
    const u = parseDbUrl('postgres://u:pw123@h:5/db?password=x');
    assert.equal(displayDbUrl(u), 'postgres://u@h:5/db');
    assert.equal(displayDbUrl(withDatabase(u, 'other')), 'postgres://u@h:5/other');
  });
});
