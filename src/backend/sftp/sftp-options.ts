import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import ssh2, { type ParsedKey } from 'ssh2';
import { StoreError } from '../store-error.js';
import { parseKnownHosts, type KnownHostEntry } from './known-hosts.js';

/*
 * What the SFTP backend takes from the environment (never from prism's config): the SSH key or
 * agent, the known_hosts files that pin the server's host key, and the stall timeout.
 * Authentication is by key only: PRISM_SFTP_KEY (a private key file, PRISM_SFTP_KEY_PASSPHRASE
 * if it is encrypted), else the ssh-agent at SSH_AUTH_SOCK, else ~/.ssh/id_ed25519, id_ecdsa,
 * id_rsa (the first that exists).
 */

/** A key read from its file (decrypted once here: ssh2 would parse it again), or the agent's socket. */
export type SftpAuth = { kind: 'key'; file: string; key: ParsedKey; from: string } | { kind: 'agent'; socket: string };

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

const home = (env: NodeJS.ProcessEnv): string => (env.HOME && env.HOME.startsWith('/') ? env.HOME : homedir());

/** The login name: the location's, else USER, else the account running prism. */
export function sftpUser(user: string | undefined, env: NodeJS.ProcessEnv): string {
  return user || env.USER || env.LOGNAME || userInfo().username;
}

/** Reads the key to log in with (at connect time: the constructor does no I/O). */
export function sftpAuth(env: NodeJS.ProcessEnv, store: string): SftpAuth {
  if (env.PRISM_SFTP_KEY) return { kind: 'key', ...readKey(env.PRISM_SFTP_KEY, env, store), from: 'PRISM_SFTP_KEY' };
  if (env.SSH_AUTH_SOCK) return { kind: 'agent', socket: env.SSH_AUTH_SOCK };
  for (const name of DEFAULT_KEYS) {
    const file = join(home(env), '.ssh', name);
    if (existsSync(file)) return { kind: 'key', ...readKey(file, env, store), from: file };
  }
  throw new StoreError(
    'permanent',
    store,
    `no SSH key to log in with: set PRISM_SFTP_KEY to a private key file the server accepts, or run an ssh-agent (SSH_AUTH_SOCK), or create ~/.ssh/id_ed25519 (ssh-keygen -t ed25519) and add its .pub to the server's authorized_keys`,
  );
}

function readKey(file: string, env: NodeJS.ProcessEnv, store: string): { file: string; key: ParsedKey } {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new StoreError('permanent', store, `cannot read the SSH key ${file} (PRISM_SFTP_KEY): ${(e as Error).message}`, { cause: e });
  }
  const passphrase = env.PRISM_SFTP_KEY_PASSPHRASE || undefined;
  const parsed = ssh2.utils.parseKey(data, passphrase);
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase|decrypt/i.test(parsed.message);
    const what = !encrypted
      ? `is not a private key ssh2 can read (${parsed.message}): give an OpenSSH, PEM or PuTTY private key`
      : passphrase
        ? 'does not open with PRISM_SFTP_KEY_PASSPHRASE: check the passphrase'
        : 'is protected by a passphrase: set PRISM_SFTP_KEY_PASSPHRASE, or use an ssh-agent (SSH_AUTH_SOCK)';
    throw new StoreError('permanent', store, `the SSH key ${file} ${what}`, { cause: parsed });
  }
  const key: ParsedKey | undefined = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey())
    throw new StoreError('permanent', store, `the SSH key ${file} is not a private key: give the private key file, not its .pub`);
  return { file, key };
}

/** The known_hosts files consulted: PRISM_SFTP_KNOWN_HOSTS alone, else the user's and the system's (as ssh). */
export function knownHostsFiles(env: NodeJS.ProcessEnv): string[] {
  if (env.PRISM_SFTP_KNOWN_HOSTS) return [env.PRISM_SFTP_KNOWN_HOSTS];
  return [join(home(env), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

/** The entries of the known_hosts files (a missing file has none; PRISM_SFTP_KNOWN_HOSTS that does not read is an error). */
export function readKnownHosts(files: readonly string[], env: NodeJS.ProcessEnv, store: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if (!env.PRISM_SFTP_KNOWN_HOSTS && (e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new StoreError('permanent', store, `cannot read the known_hosts file ${file}: ${(e as Error).message}`, { cause: e });
    }
    out.push(...parseKnownHosts(text, file));
  }
  return out;
}
