import { spawnSync } from 'node:child_process';
import type mysql from 'mysql2/promise';
import type { BinlogPosition, DumpObjectWriter } from '../db/db-dump.js';

const helpCache = new Map<string, string>();

/** `tool --help` and `--version` output (cached): which options and which flavour (MariaDB or MySQL) a client tool has. */
export function toolHelp(tool: string): string {
  let text = helpCache.get(tool);
  if (text === undefined) {
    const run = (arg: string) => spawnSync(tool, [arg], { encoding: 'utf8', timeout: 10_000, maxBuffer: 4 * 1024 * 1024 }).stdout ?? '';
    text = `${run('--version')}\n${run('--help')}`;
    helpCache.set(tool, text);
  }
  return text;
}

/**
 * The dump options that record the binary log position, or none when binary logging is off or
 * recording it would need privileges the user lacks. mariadb-dump against MariaDB reads the
 * position inside the dump's consistent snapshot (Binlog_snapshot_file/position): no lock and no
 * extra privilege. MySQL's mysqldump takes a brief FLUSH TABLES WITH READ LOCK for it, which needs
 * RELOAD and REPLICATION CLIENT: without them the dump is taken as before, without a position.
 */
export async function binlogDumpOptions(c: mysql.Connection, dumpTool: string, serverVersion: string): Promise<{ args: string[]; format?: string }> {
  const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.log_bin AS on_, @@GLOBAL.binlog_format AS format');
  const row = rows[0]!;
  if (Number(row['on_']) !== 1) return { args: [] };
  const format = String(row['format']);
  const help = toolHelp(dumpTool);
  const option = /--source-data\b/.test(help) && !/MariaDB/i.test(help) ? '--source-data=2' : '--master-data=2';
  if (/MariaDB/i.test(help) && /MariaDB/i.test(serverVersion)) return { args: [option], format };
  const [grants] = await c.query<mysql.RowDataPacket[]>(
    `SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES
      WHERE GRANTEE = CONCAT("'", SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "'@'", SUBSTRING_INDEX(CURRENT_USER(), '@', -1), "'")`,
  );
  const have = new Set(grants.map((g) => String(g['p'])));
  const ok = have.has('SUPER') || (have.has('RELOAD') && (have.has('REPLICATION CLIENT') || have.has('BINLOG MONITOR')));
  return ok ? { args: [option], format } : { args: [] };
}

const FILE_POS = /^-- CHANGE (?:MASTER|REPLICATION SOURCE) TO (?:MASTER|SOURCE)_LOG_FILE='([^']+)', (?:MASTER|SOURCE)_LOG_POS=(\d+);\s*$/;
const GTID = /^-- SET GLOBAL gtid_slave_pos='([^']*)';\s*$/;

/** The file and position, or the GTID position, of a `--master-data=2` comment line of a dump. */
export function parseBinlogPositionLine(line: string): { file: string; position: number } | { gtid: string } | undefined {
  if (!line.startsWith('-- ')) return undefined;
  const fp = FILE_POS.exec(line);
  if (fp) return { file: fp[1]!, position: Number(fp[2]) };
  const g = GTID.exec(line);
  return g ? { gtid: g[1]! } : undefined;
}

/**
 * Wraps the schema object's writer: the position comment lines are taken out (the schema stays
 * the same bytes from dump to dump, so it deduplicates) and reported through `position()`.
 * The dump splitter writes the schema one whole line at a time.
 */
export function capturePosition(
  schema: DumpObjectWriter,
  format: string | undefined,
): { writer: DumpObjectWriter; position: () => BinlogPosition | undefined } {
  let file: string | undefined;
  let position = 0;
  let gtid: string | undefined;
  const writer: DumpObjectWriter = {
    write: async (data) => {
      if (data.length > 16 && data.length < 1024 && data[0] === 45 && data[1] === 45) {
        const hit = parseBinlogPositionLine(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8'));
        if (hit && 'file' in hit) {
          file = hit.file;
          position = hit.position;
          return;
        }
        if (hit) {
          gtid = hit.gtid;
          return;
        }
      }
      await schema.write(data);
    },
    close: () => schema.close(),
  };
  return {
    writer,
    position: () => (file === undefined ? undefined : { file, position, ...(gtid ? { gtid } : {}), ...(format ? { format } : {}) }),
  };
}
