import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirPrivate, writePrivateFile } from '../../core/private-files.js';
import { PrismError } from '../../errors/index.js';

/** `$PRISM_HOME/state/dashboard-token`: the dashboard's access token (0600). */
export function dashboardTokenFile(home: string): string {
  return join(home, 'state', 'dashboard-token');
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The dashboard's token: 32 random bytes, base64url, created (0600) at the first call and kept in the state folder. */
export function dashboardToken(home: string): string {
  const file = dashboardTokenFile(home);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const text = readFileSync(file, 'utf8').trim();
      if (TOKEN.test(text)) return text;
      throw new PrismError('CONFIG_INVALID', `${file} does not hold a dashboard token (43 base64url characters); delete it and a new one is made.`, {
        path: file,
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    mkdirPrivate(join(home, 'state'));
    try {
      const token = randomBytes(32).toString('base64url');
      writePrivateFile(file, `${token}\n`, { flag: 'wx' });
      return token;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another process made it first: read theirs
    }
  }
  throw new PrismError('INTERNAL', `Could not create ${file}.`);
}

/** Equal texts, compared in constant time (both hashed first, so their lengths are not told either). */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

const SCRYPT = { logN: 15, r: 8, p: 1 };
const KEY_BYTES = 32;

function scryptAsync(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_BYTES, opts, (e, key) => (e ? reject(e) : resolve(key))));
}

function scryptOptions(logN: number, r: number, p: number): ScryptOptions {
  return { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r * p + 1024 * 1024 };
}

/** `scrypt$<log2 N>$<r>$<p>$<salt>$<key>` (base64url): what backup.dashboard.password_hash holds. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new PrismError('INVALID_ARGUMENT', 'The password is empty.');
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, scryptOptions(SCRYPT.logN, SCRYPT.r, SCRYPT.p));
  return `scrypt$${SCRYPT.logN}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether `password` matches `hash` (constant-time compare); a malformed hash or excessive parameters match nothing. */
export async function checkPassword(password: string, hash: string): Promise<boolean> {
  const m = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(hash);
  if (!m) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (logN < 10 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 4) return false;
  const expected = Buffer.from(m[5]!, 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  const key = await scryptAsync(password, Buffer.from(m[4]!, 'base64url'), scryptOptions(logN, r, p));
  return timingSafeEqual(key, expected);
}
