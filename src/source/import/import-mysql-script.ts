import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { PrismError } from '../../errors/index.js';

/**
 * What a MySQL script does to transactions, read line by line (statements are taken to start at
 * the beginning of a line after one that ends with `;`, as mysqldump writes them).
 * - `commits`: the first statement that commits implicitly (DDL, COMMIT, BEGIN …), if any;
 * - statements that switch or create databases are refused: the import goes into the one
 *   database of --target;
 * - mysqldump's LOCK/UNLOCK TABLES and DISABLE/ENABLE KEYS lines are only speed hints that
 *   commit: `isDroppable` lines are sent as empty lines (line numbers stay as in the file).
 */
export interface ScriptScan {
  commits: { line: number; statement: string } | undefined;
  lines: number;
}

const COMMITS =
  /^(CREATE|ALTER|DROP|RENAME|TRUNCATE|COMMIT|BEGIN|START\s+TRANSACTION|GRANT|REVOKE|OPTIMIZE|REPAIR|ANALYZE|FLUSH|DELIMITER|LOCK\s+TABLES|UNLOCK\s+TABLES|SET\s+(@@|SESSION\s+)?AUTOCOMMIT\s*=\s*1)\b/i;
const SWITCHES = /^(USE\s|CREATE\s+(DATABASE|SCHEMA)\b|DROP\s+(DATABASE|SCHEMA)\b)/i;
const DROPPABLE = /^(LOCK\s+TABLES\s.*;|UNLOCK\s+TABLES\s*;|\/\*!40000\s+ALTER\s+TABLE\s+\S+\s+(DISABLE|ENABLE)\s+KEYS\s*\*\/\s*;)\s*$/i;

export function isDroppable(line: string): boolean {
  return DROPPABLE.test(line.trim());
}

/** The statement text with a leading executable comment marker (`/*!40101 `) removed. */
function head(line: string): string {
  return line.trim().replace(/^\/\*!\d*\s*/, '');
}

export async function scanMysqlScript(file: string): Promise<ScriptScan> {
  let lineNo = 0;
  let atStart = true;
  let commits: ScriptScan['commits'];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    lineNo++;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('--') || trimmed.startsWith('#')) continue;
    if (atStart && !isDroppable(trimmed)) {
      const h = head(trimmed);
      if (SWITCHES.test(h)) {
        throw new PrismError(
          'IMPORT_FAILED',
          `Line ${lineNo} switches or creates a database (${h.slice(0, 60)}); import_data imports into the one database named in --target. Nothing was imported. Dump one database without --databases, or remove the line.`,
          { line: lineNo },
        );
      }
      if (!commits && COMMITS.test(h)) commits = { line: lineNo, statement: h.slice(0, 60) };
    }
    atStart = /;\s*(--.*)?$/.test(trimmed) || /\*\/\s*;?\s*$/.test(trimmed);
  }
  return { commits, lines: lineNo };
}
