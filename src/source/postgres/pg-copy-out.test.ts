import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pgScratchDb, psql, psqlCopy as psqlCopyIn, type ScratchDb } from '../../testing/databases.js';
import { resolveDbTarget, type DbTarget } from '../db/db-credentials.js';
import { pgCopyTo } from './pg-copy-out.js';
import { PG_SESSION, dumpPostgres, pgConnect, pgSnapshotClient } from './postgres-dump.js';
import { ReadPoolSocket } from './pg-socket.js';
import { pgDriver } from '../db/db-drivers.js';
import { pgClientConfig } from '../db/db-credentials.js';
import type pg from 'pg';
import type { DumpSink } from '../db/db-dump.js';

let db: ScratchDb;
let target: DbTarget;

/** What psql prints for the same COPY in the scratch database. */
const psqlCopy = (sql: string): Buffer => psqlCopyIn(db.name, sql);

/** A pg client on the driver's own socket (what a TLS connection reads through). */
async function plainConnect(t: DbTarget): Promise<pg.Client> {
  const client = new (await pgDriver()).Client(pgClientConfig(t));
  client.on('error', () => {}); // (as pgConnect: a dropped connection fails the query)
  await client.connect();
  await client.query(PG_SESSION);
  return client;
}

async function collect(
  connect: (t: DbTarget) => Promise<pg.Client>,
  sql: string,
  sink?: (b: Buffer) => Promise<void>,
): Promise<{ rows: number; data: Buffer; deliveries: number; memory: Set<ArrayBufferLike> }> {
  const client = await connect(target);
  try {
    const parts: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    const rows = await pgCopyTo(client, sql, async (b) => {
      parts.push(Buffer.from(b)); // the chunk is reused by the reader after this resolves
      memory.add(b.buffer);
      await sink?.(b);
    });
    // the connection is pg's again: an ordinary query works
    assert.equal((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
    return { rows, data: Buffer.concat(parts), deliveries: parts.length, memory };
  } finally {
    await client.end();
  }
}

before(() => {
  db = pgScratchDb('prism_copy');
  target = resolveDbTarget({ url: db.url }, {}, 'postgres');
  db.sql(`
    CREATE TABLE mixed (id int PRIMARY KEY, t text, b bytea, j jsonb, n numeric, ts timestamptz);
    INSERT INTO mixed SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE 'zeile ' || g || E' \\u00e9\\u4e2d\\t\\\\ tab' END,
      decode(md5(g::text), 'hex'), jsonb_build_object('g', g), g / 7.0, '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 second'
      FROM generate_series(1, 200000) g;
    -- rows far larger than a socket read (64 KiB), and one empty-string row
    CREATE TABLE wide (id int, v text);
    INSERT INTO wide SELECT g, repeat(md5(g::text), 40000 * g) FROM generate_series(1, 3) g;
    INSERT INTO wide VALUES (4, '');
    CREATE TABLE empty (id int);
  `);
});
after(() => db.drop());

for (const [kind, connect] of [
  ['reused read buffers (pgConnect)', pgConnect],
  ["the driver's socket", plainConnect],
] as const) {
  describe(`pgCopyTo (COPY … TO STDOUT off the socket): ${kind}`, () => {
    for (const [table, rows] of [
      ['mixed', 200_000],
      ['wide', 4],
      ['empty', 0],
    ] as const) {
      it(`gives psql's bytes and the server's row count: ${table} (${rows} rows)`, async () => {
        const sql = `COPY ${table} TO STDOUT`;
        const got = await collect(connect, sql);
        assert.equal(got.rows, rows);
        assert.ok(got.data.equals(psqlCopy(sql)), 'the COPY text differs from psql output');
        if (table === 'mixed') assert.ok(got.deliveries > 10, `rows arrive in socket chunks, not one buffer (${got.deliveries})`);
      });
    }

    it('waits for a slow sink (the socket is not read further meanwhile) and still gives every byte', async () => {
      let busy = false;
      const got = await collect(connect, 'COPY mixed TO STDOUT', async () => {
        assert.equal(busy, false, 'a delivery arrived while the previous one was being handled');
        busy = true;
        await new Promise((r) => setTimeout(r, 1));
        busy = false;
      });
      assert.ok(got.data.equals(psqlCopy('COPY mixed TO STDOUT')));
    });

    it('a failing COPY rejects with the server error and leaves the connection usable', async () => {
      const client = await connect(target);
      try {
        await assert.rejects(
          pgCopyTo(client, 'COPY mixed (no_such_column) TO STDOUT', async () => {}),
          (e: Error & { code?: string }) => e.code === '42703',
        );
        await assert.rejects(
          pgCopyTo(client, 'COPY (SELECT 1 / (id - 150000) FROM mixed) TO STDOUT', async () => {}),
          (e: Error & { code?: string }) => e.code === '22012',
        );
        assert.equal((await client.query<{ n: string }>('SELECT count(*)::text AS n FROM mixed')).rows[0]!.n, '200000');
      } finally {
        await client.end();
      }
    });

    it('a failing sink rejects at once with its own error, and the client still closes', async () => {
      const client = await connect(target);
      let calls = 0;
      await assert.rejects(
        pgCopyTo(client, 'COPY mixed TO STDOUT', async () => {
          if (++calls === 3) throw new Error('disk full');
        }),
        /disk full/,
      );
      assert.equal(calls, 3, 'no delivery after the failure');
      await Promise.race([client.end(), new Promise((_, rej) => setTimeout(() => rej(new Error('client.end() hangs')), 10_000).unref())]);
    });

    it('a backend terminated mid-COPY rejects (no hang, no partial success)', async () => {
      const client = await connect(target);
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      let killed = false;
      await assert.rejects(
        pgCopyTo(client, 'COPY (SELECT m.*, g FROM mixed m, generate_series(1, 20) g) TO STDOUT', async () => {
          if (!killed) {
            killed = true;
            psql('postgres', `SELECT pg_terminate_backend(${pid});`);
          }
        }),
      );
      await client.end().catch(() => {});
    });
  });
}

describe('ReadPoolSocket (pgConnect without TLS)', () => {
  it('reads a large COPY into a few reused buffers, none reused while the sink holds it', async () => {
    const client = await pgConnect(target);
    try {
      assert.ok((client as unknown as { connection: { stream: unknown } }).connection.stream instanceof ReadPoolSocket);
    } finally {
      await client.end();
    }
    let held = 0;
    const got = await collect(pgConnect, 'COPY mixed TO STDOUT', async (b) => {
      const copy = Buffer.from(b);
      await new Promise((r) => setImmediate(r)); // the socket gets a turn: it must not read into b
      assert.ok(b.equals(copy), 'a chunk changed while the sink held it');
      held++;
    });
    assert.ok(got.data.equals(psqlCopy('COPY mixed TO STDOUT')));
    assert.ok(held > 10, `many deliveries (${held})`);
    assert.ok(got.memory.size <= 10, `${got.deliveries} deliveries came from ${got.memory.size} buffers`);
  });
});

describe('dumpPostgres over several connections', () => {
  it('every connection reads the one exported snapshot', async () => {
    const exporter = await pgConnect(target);
    try {
      await exporter.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const snapshot = (await exporter.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
      db.sql('INSERT INTO empty VALUES (1), (2);'); // committed after the export
      const lane = await pgSnapshotClient(target, snapshot);
      try {
        assert.equal((await lane.query<{ n: string }>('SELECT count(*)::text AS n FROM empty')).rows[0]!.n, '0');
      } finally {
        await lane.end();
      }
    } finally {
      await exporter.end();
      db.sql('DELETE FROM empty;');
    }
  });

  it('dumps every table exactly once, as psql sees it, in name order, with parallel 3', async () => {
    const objects = new Map<string, Buffer[]>();
    const sink: DumpSink = {
      open: (object) => {
        assert.ok(!objects.has(object), `${object} opened twice`);
        const parts: Buffer[] = [];
        objects.set(object, parts);
        return { write: async (b) => void parts.push(Buffer.from(b)), close: async () => ({ bytes: parts.reduce((n, p) => n + p.length, 0), checksum: '' }) };
      },
    };
    const r = await dumpPostgres(target, {}, sink, 3);
    assert.deepEqual(
      r.tables.map((t) => t.name),
      ['public.empty', 'public.mixed', 'public.wide'],
    );
    for (const t of r.tables) {
      const want = psqlCopy(`COPY ${t.name} TO STDOUT`);
      assert.ok(Buffer.concat(objects.get(t.object)!).equals(want), `${t.name}: dumped bytes differ from psql`);
      assert.equal(t.rows, want.length === 0 ? 0 : want.toString('latin1').split('\n').length - 1);
    }
  });

  it('a table that fails stops the COPYs of the other lanes at once and is the error reported', async () => {
    // a role that may read `mixed` but not `wide`: wide's COPY fails while mixed still streams
    const role = `${db.name}_r`;
    db.sql(`CREATE ROLE "${role}" LOGIN; GRANT USAGE ON SCHEMA public TO "${role}"; GRANT SELECT ON mixed, empty TO "${role}";`);
    try {
      const limited = resolveDbTarget({ url: db.url.replace('postgres@', `${role}@`) }, {}, 'postgres');
      const received = new Map<string, number>();
      const closed: string[] = [];
      const sink: DumpSink = {
        open: (object) => ({
          write: async (b) => {
            received.set(object, (received.get(object) ?? 0) + b.length);
            await new Promise((r) => setTimeout(r, 5)); // a slow repository: mixed cannot finish first
          },
          close: async () => {
            closed.push(object);
            return { bytes: received.get(object) ?? 0, checksum: '' };
          },
        }),
      };
      await assert.rejects(dumpPostgres(limited, {}, sink, 2), (e: Error) => /permission denied for table wide/.test(e.message));
      const full = psqlCopy('COPY mixed TO STDOUT').length;
      const mixed = [...received].find(([o]) => o.includes('mixed'));
      assert.ok(!closed.some((o) => o.includes('mixed')), 'the large table was not finished');
      assert.ok((mixed?.[1] ?? 0) < full, `the large table's COPY stopped early (${mixed?.[1]} of ${full} bytes)`);
      assert.equal(
        Number(psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE usename = '${role}' AND query ILIKE 'COPY%' AND state = 'active';`).trim()),
        0,
        'a COPY still runs on the server',
      );
    } finally {
      db.sql(`DROP OWNED BY "${role}"; DROP ROLE "${role}";`);
    }
  });
});
