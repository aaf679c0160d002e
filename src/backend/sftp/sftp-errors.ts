import ssh2 from 'ssh2';
import { isTransientNetworkError, ObjectNotFoundError, StoreError } from '../store-error.js';

/*
 * SFTP and SSH errors in the terms of the storage contract. The SFTP status codes (RFC draft
 * v3) are coarse: OpenSSH's sftp-server reports ENOENT as NO_SUCH_FILE, EACCES as
 * PERMISSION_DENIED and nearly everything else (EEXIST, ENOSPC, EIO …) as FAILURE, which is
 * permanent here; a lost connection is transient (the retrying wrapper tries again on a new one).
 */

const STATUS = ssh2.utils.sftp.STATUS_CODE;

/** The SFTP status code of an error from SFTPWrapper, if it carries one. */
export const sftpStatus = (e: unknown): number | undefined => {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
};

export const isNoSuchFile = (e: unknown): boolean => sftpStatus(e) === STATUS.NO_SUCH_FILE;
/** FAILURE: what OpenSSH answers for EEXIST (among much else). */
export const isFailure = (e: unknown): boolean => sftpStatus(e) === STATUS.FAILURE;

/** Whether an error stands for a lost connection (the session is then replaced on the next call). */
export function isConnectionLoss(e: unknown): boolean {
  const status = sftpStatus(e);
  if (status === STATUS.NO_CONNECTION || status === STATUS.CONNECTION_LOST) return true;
  const msg = e instanceof Error ? e.message : '';
  return isTransientNetworkError(e) || /^No response from server$|^Connection lost|^Keepalive timeout|^Timed out while waiting for handshake/.test(msg);
}

/**
 * An error of one SFTP call on `path` as the contract's error: missing → ObjectNotFoundError when
 * the call was about an object, permission denied and other failures → permanent, a lost
 * connection → transient. StoreErrors and abort reasons pass through.
 */
export function sftpCallError(e: unknown, store: string, what: string, objectName?: string): unknown {
  if (e instanceof StoreError || !(e instanceof Error) || e.name === 'AbortError' || e.name === 'TimeoutError') return e;
  const status = sftpStatus(e);
  if (status === STATUS.NO_SUCH_FILE && objectName !== undefined) return new ObjectNotFoundError(objectName, store);
  if (isConnectionLoss(e)) return new StoreError('transient', store, `the SSH connection was lost during ${what}: ${e.message}`, { cause: e, objectName });
  if (status === STATUS.PERMISSION_DENIED) {
    return new StoreError(
      'permanent',
      store,
      `permission denied on the server for ${what}: the SSH user must be able to write the repository folder (check its owner and mode)`,
      {
        cause: e,
        objectName,
      },
    );
  }
  if (status === STATUS.NO_SUCH_FILE) return new StoreError('permanent', store, `${what}: no such file or folder on the server`, { cause: e, objectName });
  if (status === STATUS.OP_UNSUPPORTED) return new StoreError('permanent', store, `the SFTP server does not support ${what}`, { cause: e, objectName });
  return new StoreError('permanent', store, `${what} failed on the server: ${e.message} (a full disk, a quota, or a name that is a folder)`, {
    cause: e,
    objectName,
  });
}

export interface ConnectContext {
  store: string;
  /** `user@host:port` */
  target: string;
  /** How the login was attempted, for the authentication message. */
  authFrom: string;
  stallSeconds: number;
  /** Whether the SSH handshake had completed (errors after it are losses, not refusals). */
  connected: boolean;
}

/** An error of the SSH connection (connecting, handshake, login, or later) as the contract's error. */
export function sshConnectionError(e: unknown, ctx: ConnectContext): StoreError {
  if (e instanceof StoreError) return e;
  const err = e as Error & { level?: string; code?: string };
  const msg = err?.message ?? String(e);
  const opts = { cause: e };
  switch (err?.level) {
    case 'client-authentication':
      return new StoreError(
        'permanent',
        ctx.store,
        `the server at ${ctx.target} did not accept ${ctx.authFrom}: add its public key to the login's ~/.ssh/authorized_keys on the server, or set PRISM_SFTP_KEY to a private key it accepts (or load one into the ssh-agent at SSH_AUTH_SOCK)`,
        opts,
      );
    case 'agent':
      return new StoreError(
        'permanent',
        ctx.store,
        `the ssh-agent at SSH_AUTH_SOCK failed (${msg}): start it and add a key (ssh-add), or set PRISM_SFTP_KEY to a private key file`,
        opts,
      );
    case 'client-timeout':
      return new StoreError('transient', ctx.store, `no answer from ${ctx.target} within ${ctx.stallSeconds} s (${msg}; PRISM_STORE_STALL_SECONDS)`, opts);
    case 'client-dns':
      if (isTransientNetworkError(e)) return new StoreError('transient', ctx.store, `cannot resolve the host of ${ctx.target} now: ${msg}`, opts);
      return new StoreError('permanent', ctx.store, `the host of ${ctx.target} is not known to DNS (${msg}): check the repository location`, opts);
  }
  if (isConnectionLoss(e) || err?.level === 'client-socket' || (ctx.connected && err?.level === 'protocol')) {
    return new StoreError('transient', ctx.store, `the SSH connection to ${ctx.target} failed: ${msg}`, opts);
  }
  if (err?.level === 'handshake') {
    return new StoreError(
      'permanent',
      ctx.store,
      `the SSH handshake with ${ctx.target} failed: ${msg} (no algorithm in common, or a host key type known_hosts does not hold)`,
      opts,
    );
  }
  return new StoreError('permanent', ctx.store, `the SSH connection to ${ctx.target} failed: ${msg}`, opts);
}
