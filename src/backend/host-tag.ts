import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';

/*
 * The tag of this host in the names of temporary files (`.tmp-<tag>-<pid>-<random>`): a process
 * may remove the temporary files of dead processes with its own tag, since their pids are this
 * host's. Two hosts writing one repository (a shared file system) must get different tags, and
 * every process of a host should get the same one.
 *
 * It is HMAC-SHA256 of the host name under a key the repository does not hold: the tag differs
 * wherever the host name differs (as a plain hash of the host name did), but someone with only
 * the repository cannot confirm a guessed host name with it. The key is the host's machine id
 * (systemd's /etc/machine-id, the same for every user of the host; the HMAC reveals nothing of
 * it), else a random key kept in the user's state directory (containers often have no machine
 * id; processes of other users then have other tags, and leave each other's files alone), else
 * this boot's id. A different key only ever makes tags differ: files are then left alone, never
 * taken for another process's.
 */

export const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

/** $XDG_STATE_HOME/prism, or ~/.local/state/prism. */
export function stateDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(base, 'prism');
}

/**
 * The key of the tag: the first machine id found, else the key file under `stateDir` (created if
 * missing), else this boot's id (every process and thread of the host reads the same one), else
 * none (the tag is then a hash of the host name alone, as before there was a key).
 */
export function hostKey(opts: { machineIdFiles?: readonly string[]; stateDir?: string; bootIdFile?: string } = {}): Buffer {
  for (const file of opts.machineIdFiles ?? MACHINE_ID_FILES) {
    const id = readKey(file, /^[0-9a-f]{32}$/i);
    if (id) return id;
  }
  const dir = opts.stateDir ?? stateDirectory();
  const file = join(dir, 'host-key');
  const kept = readKey(file, KEY_FORMAT);
  if (kept) return kept;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // exclusive: of two processes making it at once, both use the one that landed
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch {
    /* made by another process meanwhile, or nowhere to keep it */
  }
  return readKey(file, KEY_FORMAT) ?? readKey(opts.bootIdFile ?? BOOT_ID_FILE, /^[0-9a-f-]{36}$/i) ?? Buffer.alloc(0);
}

const KEY_FORMAT = /^[0-9a-f]{64}$/;
const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

function readKey(file: string, format: RegExp): Buffer | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return format.test(text) ? Buffer.from(text, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/** 8 hex digits of HMAC-SHA256(key, host name). */
export function hostTagOf(key: Uint8Array, host: string): string {
  return createHmac('sha256', key).update(`prism temporary names\0${host}`).digest('hex').slice(0, 8);
}

let cached: string | undefined;

/** This host's tag (computed once per process). */
export function hostTag(): string {
  cached ??= hostTagOf(hostKey(), hostname());
  return cached;
}
