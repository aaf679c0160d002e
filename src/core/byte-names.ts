/**
 * File names are bytes. prism carries them as JavaScript strings: a name that is valid UTF-8 is
 * its decoded text, and each byte that is not part of valid UTF-8 becomes the lone surrogate
 * U+DC80..U+DCFF (Python's "surrogateescape"). Valid UTF-8 never decodes to a lone surrogate, so
 * the mapping is one-to-one: two different names on disk are two different strings, and the
 * bytes come back exactly. JSON keeps lone surrogates as `\udcXX` escapes, so trees store them.
 */

/** String.prototype.isWellFormed (Node 20; not in the ES2023 typings). */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

const strict = new TextDecoder('utf-8', { fatal: true });
const ESCAPE_BASE = 0xdc00;

/** The string for a name (or path) read from the file system as bytes. */
export function nameFromBytes(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    return decodeEscaped(bytes);
  }
}

/** What to hand to `node:fs` for a name or path string: the string itself, or its bytes when it holds escaped bytes. */
export function fsPath(name: string): string | Buffer {
  return wellFormed(name) ? name : bytesOfName(name);
}

/** The bytes a name or path string stands for. */
export function bytesOfName(name: string): Buffer {
  if (wellFormed(name)) return Buffer.from(name, 'utf8');
  const out: number[] = [];
  let run = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const lone = c >= 0xd800 && c <= 0xdfff && !isPair(name, i);
    if (!lone) {
      run += name[i]!;
      if (c >= 0xd800 && c <= 0xdbff) run += name[++i]!;
      continue;
    }
    if (run) {
      for (const b of Buffer.from(run, 'utf8')) out.push(b);
      run = '';
    }
    // a lone surrogate outside the escape range cannot come from a file name: it stays as U+FFFD
    if (c >= ESCAPE_BASE + 0x80 && c <= ESCAPE_BASE + 0xff) out.push(c - ESCAPE_BASE);
    else out.push(0xef, 0xbf, 0xbd);
  }
  if (run) for (const b of Buffer.from(run, 'utf8')) out.push(b);
  return Buffer.from(out);
}

/** True when the string is exactly what nameFromBytes gives for some bytes (so it round-trips). */
export function isCanonicalName(name: string): boolean {
  return wellFormed(name) || nameFromBytes(bytesOfName(name)) === name;
}

/**
 * A name for people to read on a terminal: escaped bytes as `\xHH` (always 0x80 and above), C0
 * controls and DEL as `\xHH` (below 0x80), C1 controls, line separators and bidi overrides as
 * `\u{HHHH}`, a backslash as `\\`: one form per name, which parseDisplayedName reads back.
 * Nothing printed can move the cursor, clear the screen or retitle the terminal. Machine output
 * (--json) keeps the exact string.
 */
export function displayName(name: string): string {
  return NEEDS_ESCAPE.test(name) ? escapeVisibly(name, true) : name;
}

/**
 * Text made of data (a message quoting names, a comment) for a terminal: as displayName, but
 * newlines, tabs and backslashes stay as they are (the text is not one name).
 */
export function displayText(text: string): string {
  return TEXT_NEEDS_ESCAPE.test(text) ? escapeVisibly(text, false) : text;
}

function escapeVisibly(s: string, name: boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!name && (c === 0x0a || c === 0x09 || c === 0x5c)) out += s[i]!;
    else if (c === 0x5c) out += '\\\\';
    else if (c < 0x20 || c === 0x7f) out += `\\x${hex2(c)}`;
    else if (c >= 0x80 && c <= 0x9f)
      out += `\\u{${c.toString(16)}}`; // C1: \xHH of 0x80 and above is a byte
    else if (c >= 0xd800 && c <= 0xdfff && !isPair(s, i))
      out += c >= ESCAPE_BASE + 0x80 && c <= ESCAPE_BASE + 0xff ? `\\x${hex2(c - ESCAPE_BASE)}` : `\\u{${c.toString(16)}}`;
    else if (c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
      out += `\\u{${c.toString(16)}}`; // line breaks and bidi overrides
    else {
      out += s[i]!;
      if (c >= 0xd800 && c <= 0xdbff) out += s[++i]!;
    }
  }
  return out;
}

const NEEDS_ESCAPE = /[\\\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028-\u202e\u2066-\u2069]/;
const TEXT_NEEDS_ESCAPE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028-\u202e\u2066-\u2069]/;

/**
 * The name a person typed as `displayName` shows it: `\\` is a backslash, `\xHH` a byte (0x80 and
 * above: an escaped byte of a name that is not UTF-8), `\u{H…}` a character. Any other backslash
 * stays as it is, so a name typed with a single `\` still matches.
 */
export function parseDisplayedName(typed: string): string {
  if (!typed.includes('\\')) return typed;
  const parsed = typed.replace(/\\(\\|x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]{1,6})\})/g, (all, what: string, byte?: string, code?: string) => {
    if (what === '\\') return '\\';
    if (byte !== undefined) {
      const b = Number.parseInt(byte, 16);
      return String.fromCharCode(b >= 0x80 ? ESCAPE_BASE + b : b);
    }
    const cp = Number.parseInt(code!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : all;
  });
  // bytes typed one by one that spell valid UTF-8 are that text, as the file system gives them
  return nameFromBytes(bytesOfName(parsed));
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function isPair(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    return d >= 0xdc00 && d <= 0xdfff;
  }
  if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
    const p = s.charCodeAt(i - 1);
    return p >= 0xd800 && p <= 0xdbff;
  }
  return false;
}

/** Decodes valid UTF-8 sequences and escapes every other byte (strict: no overlongs, no surrogates, ≤ U+10FFFF). */
function decodeEscaped(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const len = validSequence(b, i);
    if (len === 0) {
      out += String.fromCharCode(ESCAPE_BASE + b[i]!);
      i++;
    } else {
      out += strict.decode(b.subarray(i, i + len));
      i += len;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at b[i], or 0 if the byte there does not start one. */
function validSequence(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}
