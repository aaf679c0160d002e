import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PrismError } from '../../errors/index.js';
import { asPostgres, freePort, pgUser, readLog } from '../../testing/pg-cluster.js';
import { resolveDbTarget } from '../db/db-credentials.js';
import type { DumpSink } from '../db/db-dump.js';
import { pgCopyTo } from './pg-copy-out.js';
import { dumpPostgres, pgConnect } from './postgres-dump.js';

/** A throwaway cluster with TLS on (a self-signed certificate for 127.0.0.1), trust auth. */
describe('sslmode in a PostgreSQL URL is honoured by the driver connections (dumps, restores)', () => {
  let root = '';
  let port = 0;
  let data = '';
  const url = (params: string) => `postgres://postgres@127.0.0.1:${port}/postgres?${params}`;
  const target = (params: string) => resolveDbTarget({ url: url(params) }, {}, 'postgres');
  const usesTls = async (params: string): Promise<boolean> => {
    const c = await pgConnect(target(params));
    try {
      return (await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0]!.ssl;
    } finally {
      await c.end();
    }
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'prism-ssl-'));
    chownSync(root, pgUser.uid, pgUser.gid);
    port = await freePort();
    data = join(root, 'data');
    const init = asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-N']);
    assert.equal(init.code, 0, init.stderr);
    const cert = spawnSync(
      'setpriv',
      [
        `--reuid=${pgUser.uid}`,
        `--regid=${pgUser.gid}`,
        '--init-groups',
        'openssl',
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=prism-test',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(data, 'server.key'),
        '-out',
        join(data, 'server.crt'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(cert.status, 0, cert.stderr);
    appendFileSync(
      join(data, 'postgresql.conf'),
      `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${root}'\nfsync = off\nssl = on\n`,
    );
    const start = asPostgres('pg_ctl', ['-D', data, '-l', join(root, 'log'), '-w', 'start']);
    assert.equal(start.code, 0, start.stderr + readLog(join(root, 'log')));
    const c = await pgConnect(target('sslmode=disable'));
    await c.query(`CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 30000) g;`);
    await c.end();
  });
  after(() => {
    if (data) asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    rmSync(root, { recursive: true, force: true });
  });

  it('require encrypts; disable, prefer and no sslmode do not (the driver cannot fall back)', async () => {
    assert.equal(await usesTls('sslmode=require'), true);
    for (const p of ['sslmode=disable', 'sslmode=prefer', '']) assert.equal(await usesTls(p), false, p);
  });

  it('verify-full checks the certificate against sslrootcert and the host; without the CA it is refused', async () => {
    assert.equal(await usesTls(`sslmode=verify-full&sslrootcert=${join(data, 'server.crt')}`), true);
    assert.equal(await usesTls(`sslmode=verify-ca&sslrootcert=${join(data, 'server.crt')}`), true);
    await assert.rejects(usesTls('sslmode=verify-full'), (e: PrismError) => /self[- ]signed/i.test(e.message));
    await assert.rejects(
      usesTls('sslmode=verify-full&sslrootcert=/nonexistent/ca.pem'),
      (e: PrismError) => e.code === 'CONFIG_INVALID' && /sslrootcert/.test(e.message),
    );
    await assert.rejects(usesTls('sslmode=always'), (e: PrismError) => e.code === 'CONFIG_INVALID' && /sslmode=always/.test(e.message));
  });

  it('a COPY over TLS gives the same bytes as without, and a dump runs over TLS on every lane', async () => {
    const read = async (params: string): Promise<Buffer> => {
      const c = await pgConnect(target(params));
      const parts: Buffer[] = [];
      try {
        await pgCopyTo(c, 'COPY t TO STDOUT', async (b) => void parts.push(Buffer.from(b)));
      } finally {
        await c.end();
      }
      return Buffer.concat(parts);
    };
    const plain = await read('sslmode=disable');
    assert.ok(plain.length > 1_000_000);
    assert.ok((await read('sslmode=require')).equals(plain));

    const objects = new Map<string, Buffer[]>();
    const sink: DumpSink = {
      open: (object) => {
        const parts: Buffer[] = [];
        objects.set(object, parts);
        return { write: async (b) => void parts.push(Buffer.from(b)), close: async () => ({ bytes: parts.reduce((n, p) => n + p.length, 0), checksum: '' }) };
      },
    };
    const r = await dumpPostgres(target('sslmode=require'), {}, sink, 2);
    const t = r.tables.find((x) => x.name === 'public.t')!;
    assert.equal(t.rows, 30_000);
    assert.ok(Buffer.concat(objects.get(t.object)!).equals(plain));
  });
});
