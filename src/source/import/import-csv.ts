import { open } from 'node:fs/promises';

/** What the first line of a CSV file tells an import: its column names (with --header) and line ending. */
export interface CsvHead {
  columns: string[];
  crlf: boolean;
}

const HEAD_BYTES = 1024 * 1024;

/** Reads the first line of a CSV file (at most 1 MiB) and splits it into fields. */
export async function readCsvHead(file: string): Promise<CsvHead> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const nl = text.indexOf('\n');
    const line = nl < 0 ? text : text.slice(0, nl);
    const crlf = line.endsWith('\r');
    return { columns: splitCsvLine(crlf ? line.slice(0, -1) : line), crlf };
  } finally {
    await fh.close();
  }
}

/** Fields of one CSV line (RFC 4180 quoting: "" inside quotes is one "). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((f) => f.trim());
}
