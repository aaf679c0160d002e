import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { PasswordSource } from '../core/password-source.js';
import { PrismError, describeSystemError } from '../errors/index.js';

/** Asks on the terminal (echo off) and returns what was typed. */
export type PasswordPrompt = (question: string, opts?: { confirm?: boolean }) => Promise<Buffer>;

/** More than this is not a password (a file or command named by mistake, /dev/zero …). */
export const MAX_PASSWORD_BYTES = 64 * 1024;
/** How long PRISM_PASSWORD_COMMAND may take (a secret manager may ask on the terminal first). */
export const PASSWORD_COMMAND_TIMEOUT_MS = 60_000;
/** The systemd credential (LoadCredential=prism-password:/etc/prism/password) read from $CREDENTIALS_DIRECTORY. */
export const SYSTEMD_CREDENTIAL = 'prism-password';

const VARIABLES = ['PRISM_PASSWORD_FILE', 'PRISM_PASSWORD_COMMAND', 'PRISM_PASSWORD'] as const;
const DEFAULT_QUESTION = 'Password for the repository: ';

/**
 * The password source the environment names, in this order: one of PRISM_PASSWORD_FILE,
 * PRISM_PASSWORD_COMMAND, PRISM_PASSWORD (two of them set is an error: which one is meant?), else
 * the systemd credential prism-password, else a prompt on the terminal; undefined when there is
 * none. Nothing is read or run here: read() does it on first use, once per process.
 */
export function passwordSourceFromEnv(
  env: NodeJS.ProcessEnv,
  opts: { prompt?: PasswordPrompt | undefined; isTTY?: boolean | undefined; commandTimeoutMs?: number } = {},
): PasswordSource | undefined {
  const set = VARIABLES.filter((name) => (env[name] ?? '') !== '');
  if (set.length > 1) {
    throw new PrismError(
      'PASSWORD_SOURCE',
      `${set.slice(0, -1).join(', ')} and ${set.at(-1)} are ${set.length === 2 ? 'both' : 'all'} set: prism cannot tell which password is meant. Keep one of them and unset the other${set.length > 2 ? 's' : ''}.`,
      { sources: set },
    );
  }
  const file = env.PRISM_PASSWORD_FILE;
  if (file) return memoised(`PRISM_PASSWORD_FILE (${file})`, () => passwordFromFile(file, 'PRISM_PASSWORD_FILE'));
  const command = env.PRISM_PASSWORD_COMMAND;
  if (command) return memoised('PRISM_PASSWORD_COMMAND', () => passwordFromCommand(command, opts.commandTimeoutMs ?? PASSWORD_COMMAND_TIMEOUT_MS));
  // The least safe source: the same user and root can read it in /proc/<pid>/environ, and every
  // child process inherits it (database dump tools, PRISM_PASSWORD_COMMAND …). That is the
  // user's choice; prism does not scrub the environment of its children.
  const value = env.PRISM_PASSWORD;
  if (value) return memoised('PRISM_PASSWORD', async () => Buffer.from(value, 'utf8'));
  const credentials = env.CREDENTIALS_DIRECTORY;
  if (credentials && existsSync(join(credentials, SYSTEMD_CREDENTIAL))) {
    const path = join(credentials, SYSTEMD_CREDENTIAL);
    return memoised(`systemd credential ${SYSTEMD_CREDENTIAL}`, () => passwordFromFile(path, `the systemd credential ${SYSTEMD_CREDENTIAL}`));
  }
  const prompt = opts.prompt;
  if (prompt && opts.isTTY) return memoised('terminal prompt', (question, confirm) => prompt(question ?? DEFAULT_QUESTION, { confirm }));
  return undefined;
}

/**
 * Reads (or runs, or asks) once: concurrent and later reads share the result, each getting its own
 * copy, which the caller may zero. A failure is not kept: the next read tries again (the service's
 * next job, after a secret manager was briefly unavailable).
 */
function memoised(origin: string, get: (question: string | undefined, confirm: boolean) => Promise<Buffer>): PasswordSource {
  let got: Promise<Buffer> | undefined;
  return {
    origin,
    read: async (question, opts) => {
      const attempt = (got ??= get(question, opts?.confirm === true));
      try {
        return Buffer.from(await attempt);
      } catch (e) {
        if (got === attempt) got = undefined;
        throw e;
      }
    },
  };
}

/**
 * A password file: its bytes without one final "\n" or "\r\n" (a password may end in spaces or
 * even in a second newline: only the line end an editor adds is dropped). Missing, unreadable,
 * empty, a directory or over 64 KiB: PASSWORD_SOURCE naming `what` (PRISM_PASSWORD_FILE,
 * --new-password-file …) and the path, never the content. A file that group or others may read
 * is read all the same (as restic does): refusing it would break a working setup on the day
 * it is needed; README tells to chmod 600 it. Pipes work too (`<(pass show prism)`).
 */
export async function passwordFromFile(path: string, what: string): Promise<Buffer> {
  const fail = (why: string, extra: Record<string, unknown> = {}): PrismError =>
    new PrismError('PASSWORD_SOURCE', `The password file of ${what}, ${path}, ${why}.`, { source: what, path, ...extra });
  let bytes: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      if ((await handle.stat()).isDirectory()) throw fail('is a directory, not a file');
      bytes = await readAtMost(handle, MAX_PASSWORD_BYTES + 3); // the limit, "\r\n" and one byte more
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (e instanceof PrismError) throw e;
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') throw fail('does not exist', { errno });
    if (errno === 'EISDIR') throw fail('is a directory, not a file', { errno });
    const m = describeSystemError(e, path);
    throw fail(`cannot be read (${m?.says ?? errno ?? (e as Error).message})`, errno ? { errno } : {});
  }
  const password = withoutFinalNewline(bytes);
  if (password.length > MAX_PASSWORD_BYTES) throw fail(`is larger than ${MAX_PASSWORD_BYTES / 1024} KiB: that is not a password file`);
  if (password.length === 0) throw fail('is empty');
  return password;
}

async function readAtMost(handle: Awaited<ReturnType<typeof open>>, max: number): Promise<Buffer> {
  const buf = Buffer.alloc(max);
  let n = 0;
  while (n < max) {
    const { bytesRead } = await handle.read(buf, n, max - n, null);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return buf.subarray(0, n);
}

/**
 * PRISM_PASSWORD_COMMAND, run by /bin/sh -c with stdin closed and stderr passed through (a secret
 * manager's own messages): its stdout without one final newline. A non-zero exit, a signal, no
 * output, more than 64 KiB or more than `timeoutMs`: PASSWORD_SOURCE naming the variable; neither
 * the command (it may hold a secret) nor its output is ever in a message.
 */
function passwordFromCommand(command: string, timeoutMs: number): Promise<Buffer> {
  const fail = (why: string, extra: Record<string, unknown> = {}): PrismError =>
    new PrismError('PASSWORD_SOURCE', `The command of PRISM_PASSWORD_COMMAND ${why}.`, { source: 'PRISM_PASSWORD_COMMAND', ...extra });
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (e: PrismError | undefined, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) {
        // Not waiting for the pipe to close: a grandchild of the shell may still hold it.
        child.stdout.destroy();
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(e);
      } else resolve(value!);
    };
    const timer = setTimeout(() => finish(fail(`did not finish within ${Math.round(timeoutMs / 1000)} s`, { timeoutMs })), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PASSWORD_BYTES + 2) return finish(fail(`printed more than ${MAX_PASSWORD_BYTES / 1024} KiB: that is not a password`));
      chunks.push(chunk);
    });
    child.on('error', (e) => finish(fail(`could not be started (${e.message})`)));
    child.on('close', (code, signal) => {
      if (signal) return finish(fail(`was killed by ${signal}`, { signal }));
      if (code !== 0) return finish(fail(`exited with status ${code} (its error output, if any, is above)`, { exitCode: code }));
      const password = withoutFinalNewline(Buffer.concat(chunks));
      if (password.length === 0) return finish(fail('printed nothing'));
      if (password.length > MAX_PASSWORD_BYTES) return finish(fail(`printed more than ${MAX_PASSWORD_BYTES / 1024} KiB: that is not a password`));
      finish(undefined, password);
    });
  });
}

/** The bytes without one final "\n" or "\r\n". */
export function withoutFinalNewline(bytes: Buffer): Buffer {
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0a) {
    const cr = bytes.length > 1 && bytes[bytes.length - 2] === 0x0d;
    return bytes.subarray(0, bytes.length - (cr ? 2 : 1));
  }
  return bytes;
}
