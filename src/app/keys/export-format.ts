import { createHash } from 'node:crypto';
import { MASTER_KEY_BYTES } from '../../codec/master-key.js';
import { PrismError } from '../../errors/index.js';
import type { ExportedKey } from '../../repo/index.js';

/*
 * The two forms of `prism key export`:
 *
 * - JSON: {"format": "prism-key-export", "version": 1, "repository", "generation", "master_key" (base64)}.
 * - Paper, to print and type back: a header line, a line naming the repository and generation, then
 *   the key as 7 numbered lines of 12 bytes in groups of 4 hex digits, each followed by a checksum
 *   of its own (the first 2 bytes of SHA-256 of the line number and the line's bytes, as borg's
 *   paper keys have), so a typo is found on the line it is on and a line typed in the wrong place
 *   does not pass. The 84 bytes: repository id (16), generation (4, big-endian), master key (64).
 */

export const EXPORT_FORMAT = 'prism-key-export';
const PAPER_HEADER = 'prism paper key v1';
const REPO_ID_BYTES = 16;
const LINE_BYTES = 12;
const PAYLOAD_BYTES = REPO_ID_BYTES + 4 + MASTER_KEY_BYTES;
const PAPER_LINES = PAYLOAD_BYTES / LINE_BYTES;

export const EXPORT_WARNING =
  'Whoever holds this key export can read every backup of the repository: keep it offline (printed, or on a removable disk in a safe), never beside the backups.';

export function exportJson(key: ExportedKey): string {
  return (
    JSON.stringify(
      { format: EXPORT_FORMAT, version: 1, repository: key.repository, generation: key.generation, master_key: key.master.toString('base64') },
      null,
      2,
    ) + '\n'
  );
}

function lineChecksum(lineNo: number, bytes: Uint8Array): string {
  return createHash('sha256')
    .update(Buffer.from([lineNo]))
    .update(bytes)
    .digest()
    .subarray(0, 2)
    .toString('hex');
}

export function exportPaper(key: ExportedKey): string {
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  Buffer.from(key.repository, 'hex').copy(payload, 0);
  payload.writeUInt32BE(key.generation, REPO_ID_BYTES);
  key.master.copy(payload, REPO_ID_BYTES + 4);
  const lines = [
    `# ${EXPORT_WARNING}`,
    `# To use it: prism key import FILE (this text, typed back or scanned).`,
    PAPER_HEADER,
    `repository ${key.repository} generation ${key.generation}`,
  ];
  for (let i = 0; i < PAPER_LINES; i++) {
    const bytes = payload.subarray(i * LINE_BYTES, (i + 1) * LINE_BYTES);
    const groups = bytes.toString('hex').match(/.{4}/g)!.join(' ');
    lines.push(`${String(i + 1).padStart(2)}: ${groups} - ${lineChecksum(i + 1, bytes)}`);
  }
  return lines.join('\n') + '\n';
}

/** Reads either form (told apart by the first character: `{` is JSON); `source` names it in messages. */
export function parseExport(text: string, source: string): ExportedKey {
  return text.trimStart().startsWith('{') ? parseJson(text, source) : parsePaper(text, source);
}

function invalid(source: string, why: string, extra: Record<string, unknown> = {}): PrismError {
  return new PrismError('KEY_FILE_INVALID', `The key export ${source} cannot be used: ${why}. Nothing was changed.`, { source, ...extra });
}

function parseJson(text: string, source: string): ExportedKey {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw invalid(source, `it is not valid JSON (${(e as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw invalid(source, 'it is not a JSON object');
  const r = o as Record<string, unknown>;
  const fields = ['format', 'version', 'repository', 'generation', 'master_key'];
  const unknown = Object.keys(r).filter((k) => !fields.includes(k));
  if (unknown.length > 0) throw invalid(source, `it has fields a key export does not have (${unknown.join(', ')})`);
  if (r.format !== EXPORT_FORMAT) throw invalid(source, `its format is ${JSON.stringify(r.format)}, not "${EXPORT_FORMAT}"`);
  if (r.version !== 1) throw invalid(source, `its version ${JSON.stringify(r.version)} is not known (1 is)`);
  if (typeof r.repository !== 'string' || !/^[0-9a-f]{32}$/.test(r.repository)) throw invalid(source, 'its repository is not a repository id (32 hex digits)');
  if (typeof r.generation !== 'number' || !Number.isInteger(r.generation) || r.generation < 1 || r.generation > 0xffffffff)
    throw invalid(source, 'its generation is not a whole number from 1');
  const b64 = r.master_key;
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw invalid(source, 'its master_key is not base64');
  const master = Buffer.from(b64, 'base64');
  if (master.length !== MASTER_KEY_BYTES || master.toString('base64') !== b64)
    throw invalid(source, `its master_key holds ${master.length} bytes, not ${MASTER_KEY_BYTES} (is it cut short?)`);
  return { repository: r.repository, generation: r.generation, master };
}

function parsePaper(text: string, source: string): ExportedKey {
  const lines = text.split(/\r?\n/);
  let header = false;
  let named: { repository: string; generation: number; line: number } | undefined;
  const data: Buffer[] = [];
  for (const [i, raw] of lines.entries()) {
    const n = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = (why: string) => invalid(source, `line ${n}: ${why}`, { line: n });
    if (!header) {
      if (line.toLowerCase().replace(/\s+/g, ' ') !== PAPER_HEADER) throw at(`"${PAPER_HEADER}" was expected (is this a key export?)`);
      header = true;
      continue;
    }
    if (!named) {
      const m = /^repository\s+([0-9a-f]{32})\s+generation\s+([0-9]{1,10})$/i.exec(line);
      if (!m) throw at('"repository <32 hex digits> generation <number>" was expected');
      named = { repository: m[1]!.toLowerCase(), generation: Number(m[2]), line: n };
      continue;
    }
    const m = /^([0-9]+)\s*:(.*)-\s*([0-9a-fA-F]{4})$/.exec(line);
    if (!m) throw at('a key line is "N: xxxx xxxx xxxx xxxx xxxx xxxx - cccc"');
    const k = Number(m[1]);
    if (k !== data.length + 1) throw at(`key line ${k} where key line ${data.length + 1} was expected`);
    if (k > PAPER_LINES) throw at(`a paper key has ${PAPER_LINES} key lines, not more`);
    const hex = m[2]!.replace(/\s+/g, '');
    if (!/^[0-9a-fA-F]*$/.test(hex)) throw at(`key line ${k} holds characters that are not hex digits (0-9, a-f)`);
    if (hex.length !== LINE_BYTES * 2) throw at(`key line ${k} has ${hex.length} hex digits, not ${LINE_BYTES * 2} (a group missing or doubled?)`);
    const bytes = Buffer.from(hex, 'hex');
    if (lineChecksum(k, bytes) !== m[3]!.toLowerCase()) throw at(`key line ${k} does not match its checksum: a typo on this line (or in its checksum)`);
    data.push(bytes);
  }
  if (!header) throw invalid(source, `it is neither a JSON key export nor a paper key ("${PAPER_HEADER}")`);
  if (!named) throw invalid(source, 'the line naming the repository and generation is missing');
  if (data.length !== PAPER_LINES) throw invalid(source, `it has ${data.length} key line(s), a paper key has ${PAPER_LINES} (a line missing?)`);
  const payload = Buffer.concat(data);
  const repository = payload.subarray(0, REPO_ID_BYTES).toString('hex');
  const generation = payload.readUInt32BE(REPO_ID_BYTES);
  if (repository !== named.repository || generation !== named.generation) {
    throw invalid(
      source,
      `line ${named.line} names repository ${named.repository} generation ${named.generation}, the key lines repository ${repository} generation ${generation}`,
      {
        line: named.line,
      },
    );
  }
  if (generation < 1) throw invalid(source, 'its generation is 0');
  return { repository, generation, master: Buffer.from(payload.subarray(REPO_ID_BYTES + 4)) };
}
