import type pg from 'pg';
import { pgDriver } from '../db/db-drivers.js';
import { pgCopyTo } from './pg-copy-out.js';
import { ReadPoolSocket } from './pg-socket.js';
import { pgClientConfig, runNative, type DbTarget } from '../db/db-credentials.js';
import type { DumpResult, DumpSink, DumpedTable, PreparedDump, TableFilter } from '../db/db-dump.js';
import { POST_SCHEMA_OBJECT, SCHEMA_OBJECT, SinkError, tableObject, tableSelected } from '../db/db-dump.js';
import { classifyDbError } from '../db/db-errors.js';

/** "name" with embedded quotes doubled. */
export function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table` → "schema"."table" (the first dot separates them). */
export function pgQualified(name: string): string {
  const dot = name.indexOf('.');
  return `${pgIdent(name.slice(0, dot))}.${pgIdent(name.slice(dot + 1))}`;
}

/** Session settings that fix COPY's text output (time zones, dates, floats, bytea), so a dump and its re-read after a restore compare byte for byte. */
export const PG_SESSION =
  "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'; SET client_encoding = 'UTF8'";

/**
 * Connects with the pg driver; a refused connection or bad login becomes DB_UNREACHABLE /
 * DB_AUTH_FAILED. Without TLS the connection reads into reused buffers (ReadPoolSocket): what
 * large COPYs read costs no new memory.
 */
export async function pgConnect(t: DbTarget): Promise<pg.Client> {
  const config = pgClientConfig(t);
  const client = new (await pgDriver()).Client(config.ssl ? config : { ...config, stream: () => new ReadPoolSocket() });
  client.on('error', () => {}); // a dropped connection surfaces as the failing query's error
  try {
    await client.connect();
    await client.query(PG_SESSION);
  } catch (e) {
    await client.end().catch(() => {});
    throw classifyDbError(t, e);
  }
  return client;
}

/** Which relations are user tables: what pgListTables and the dump's table facts both select. */
const USER_TABLES = `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
     ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`;

/** User tables (schema.table), in name order. */
export async function pgListTables(client: pg.Client): Promise<string[]> {
  const r = await client.query<{ name: string }>(`SELECT n.nspname || '.' || c.relname AS name ${USER_TABLES}`);
  return r.rows.map((x) => x.name);
}

/** The table's stored (not generated, not dropped) columns in order. */
export async function pgColumns(client: pg.Client, table: string): Promise<string[]> {
  const r = await client.query<{ attname: string }>(
    `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
    [pgQualified(table)],
  );
  return r.rows.map((x) => x.attname);
}

/** Every user table (in name order) with its stored columns (in order) and size on disk. */
const TABLE_FACTS = `SELECT n.nspname || '.' || c.relname AS name, pg_table_size(c.oid)::text AS bytes,
       (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') AS columns
     ${USER_TABLES}`;

interface TableFacts {
  columns: string[];
  bytes: number;
}

/** A dump's open transaction: its exported snapshot, the server's version, every table's facts. */
interface BegunDump {
  snapshot: string;
  serverVersion: string;
  facts: Map<string, TableFacts>;
}

/**
 * Opens the dump's transaction and exports its snapshot, and reads what the dump needs to know of
 * every table, in one round trip (three statements in one simple query).
 */
async function pgBeginDump(client: pg.Client): Promise<BegunDump> {
  const results = (await client.query(
    `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot() AS s, current_setting('server_version') AS v; ${TABLE_FACTS}`,
  )) as unknown as [pg.QueryResult, pg.QueryResult<{ s: string; v: string }>, pg.QueryResult<{ name: string; bytes: string; columns: string[] | null }>];
  const { s: snapshot, v: serverVersion } = results[1].rows[0]!;
  return { snapshot, serverVersion, facts: new Map(results[2].rows.map((x) => [x.name, { columns: x.columns ?? [], bytes: Number(x.bytes) }])) };
}

/** COPY of a table as it streams through `onData`; resolves with its row count. */
export function pgCopyOut(client: pg.Client, table: string, columns: readonly string[], onData: (b: Buffer) => Promise<void>): Promise<number> {
  return pgCopyTo(client, `COPY ${pgQualified(table)} (${columns.map(pgIdent).join(', ')}) TO STDOUT`, onData);
}

/** A connection in a REPEATABLE READ READ ONLY transaction on an exported snapshot: it sees exactly what the exporting transaction sees. */
export async function pgSnapshotClient(t: DbTarget, snapshot: string): Promise<pg.Client> {
  const client = await pgConnect(t);
  try {
    await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "''")}'`);
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
  return client;
}

/**
 * Dumps a PostgreSQL database consistently: one REPEATABLE READ READ ONLY transaction whose
 * snapshot is exported to pg_dump for the schema (pre-data and post-data sections, two objects),
 * while every table's rows are streamed from the same snapshot with COPY TO STDOUT, over this
 * connection and up to `parallel - 1` more on the snapshot (one object per table, uncompressed
 * text: unchanged tables give identical bytes). Sequence values are read in it too.
 */
export async function dumpPostgres(t: DbTarget, filter: TableFilter, sink: DumpSink, parallel = 1): Promise<DumpResult> {
  return (await openPostgresDump(t, filter, parallel)).run(sink);
}

/**
 * The first half of dumpPostgres: connects, opens the dump's transaction, exports its
 * snapshot and starts the schema's pg_dump on it, so that this can happen while the caller gets
 * its sink ready; `run` then streams the dump, once. `signal` ends every connection of the dump
 * (and the schema's pg_dump), whether it is still opening, waits to run or streams (a COPY
 * waiting for a table lock too): what is in flight fails at once.
 */
export async function openPostgresDump(t: DbTarget, filter: TableFilter, parallel = 1, signal?: AbortSignal): Promise<PreparedDump> {
  signal?.throwIfAborted();
  const client = await pgConnect(t);
  const clients = [client];
  const endAll = (): void => {
    for (const c of clients) void c.end().catch(() => {});
  };
  signal?.addEventListener('abort', endAll, { once: true });
  let begun: BegunDump;
  try {
    signal?.throwIfAborted();
    begun = await pgBeginDump(client);
  } catch (e) {
    await client.end().catch(() => {});
    throw signal?.aborted ? signal.reason : classifyDbError(t, e, { what: 'dumping the database' });
  }
  // the schema is dumped from now on, on the snapshot, while the caller gets ready (a core that is
  // idle then): one pg_dump of it in custom format
  const every = [...begun.facts.keys()];
  const tables = every.filter((n) => tableSelected(n, filter));
  // leave out what is not backed up, keep the rest of the schema (types, functions, views …)
  const tableArgs = every.filter((n) => !tables.includes(n)).flatMap((n) => ['--exclude-table', pgQualified(n)]);
  const schemaArchive = (async () => {
    const parts: Buffer[] = [];
    await runNative(t, 'pg_dump', ['--schema-only', '--format=custom', '--no-password', `--snapshot=${begun.snapshot}`, ...tableArgs, t.database], {
      what: 'dumping the schema',
      signal,
      stdout: async (out) => {
        for await (const b of out as AsyncIterable<Buffer>) parts.push(b);
      },
    });
    return Buffer.concat(parts);
  })();
  schemaArchive.catch(() => {}); // awaited by `run`, which may never come (an abort)
  return { run: (sink) => streamPostgresDump(t, filter, tables, sink, parallel, clients, begun, schemaArchive, signal) };
}

/** The second half: the COPYs and the schema on the open transaction (`clients[0]`), into `sink`. */
async function streamPostgresDump(
  t: DbTarget,
  filter: TableFilter,
  tables: readonly string[],
  sink: DumpSink,
  parallel: number,
  clients: pg.Client[],
  { snapshot, serverVersion, facts }: BegunDump,
  schemaArchive: Promise<Buffer>,
  signal: AbortSignal | undefined,
): Promise<DumpResult> {
  const client = clients[0]!;
  try {
    // The tables, largest first, go to whichever of up to `parallel` connections on the snapshot
    // is free; a table's last chunks are stored while the next one streams.
    const order = [...tables.keys()].sort((x, y) => facts.get(tables[y]!)!.bytes - facts.get(tables[x]!)!.bytes);
    const closing: Array<Promise<DumpedTable>> = [];
    let stop = false;
    let first: { error: unknown } | undefined;
    const lane = async (conn: pg.Client): Promise<void> => {
      for (let k = order.shift(); k !== undefined && !stop; k = order.shift()) {
        const name = tables[k]!;
        const { columns } = facts.get(name)!;
        const object = tableObject(name);
        const w = sink.open(object);
        const rows = await pgCopyOut(conn, name, columns, (b) => w.write(b));
        closing[k] = w.close().then((c) => ({ name, object, rows, columns, ...c }));
        closing[k].catch(() => {}); // awaited below
      }
    };
    const lanes = [
      lane(client),
      ...Array.from({ length: Math.min(Math.max(1, parallel), tables.length) - 1 }, async () => {
        const conn = await pgSnapshotClient(t, snapshot);
        clients.push(conn);
        signal?.throwIfAborted();
        await lane(conn);
      }),
    ].map((l) =>
      l.catch((e: unknown) => {
        // the other lanes take no new table, and their COPYs stop now instead of running to the end
        // (ending a pg client with a query in flight drops its socket)
        if (!stop) {
          stop = true;
          first = { error: signal?.aborted ? signal.reason : e };
          for (const c of clients) void c.end().catch(() => {});
        }
        throw e;
      }),
    );
    // the schema's archive (dumped since the snapshot was taken) is split into its pre-data and
    // post-data sections by pg_restore (no connection)
    const schemaDone = (async () => {
      const archive = await schemaArchive;
      return Promise.all(
        (
          [
            ['pre-data', SCHEMA_OBJECT],
            ['post-data', POST_SCHEMA_OBJECT],
          ] as const
        ).map(async ([part, object]) => {
          const text = await runNative(t, 'pg_restore', [`--section=${part}`, '--file=-'], { input: archive, what: `reading the ${part} schema` });
          // pg_dump ≥ 15.14 brackets its output with \restrict <random key>: drop it so equal schemas give equal bytes
          const clean = text.replace(/^\\(un)?restrict .*\n/gm, '');
          const w = sink.open(object);
          await w.write(Buffer.from(clean, 'utf8'));
          return { part, object, ...(await w.close()) };
        }),
      );
    })();
    schemaDone.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile

    try {
      await Promise.allSettled(lanes);
      if (first) throw first.error; // the cause, not the lanes stopped after it
    } finally {
      await Promise.all(clients.slice(1).map((c) => c.end().catch(() => {})));
    }
    const dumped = await Promise.all(closing);
    const schema = await schemaDone;
    const sequences = await pgSequences(client, filter);
    await client.query('COMMIT');
    return { serverVersion, schema, tables: dumped, sequences };
  } catch (e) {
    if (e instanceof SinkError || (signal?.aborted && e === signal.reason)) throw e;
    throw classifyDbError(t, e, { what: 'dumping the database' });
  } finally {
    await client.end().catch(() => {});
  }
}

async function pgSequences(client: pg.Client, filter: TableFilter): Promise<NonNullable<DumpResult['sequences']>> {
  const r = await client.query<{ name: string; owner: string | null }>(
    `SELECT n.nspname || '.' || c.relname AS name,
            (SELECT tn.nspname || '.' || tc.relname FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
              WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1) AS owner
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`,
  );
  const out: NonNullable<DumpResult['sequences']> = [];
  for (const s of r.rows) {
    if (s.owner !== null && !tableSelected(s.owner, filter)) continue;
    const v = await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text AS last_value, is_called FROM ${pgQualified(s.name)}`);
    out.push({ name: s.name, value: v.rows[0]!.last_value, is_called: v.rows[0]!.is_called, table: s.owner });
  }
  return out;
}
