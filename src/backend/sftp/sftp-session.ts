import ssh2, { type ConnectConfig, type PublicKeyAuthMethod, type ServerHostKeyAlgorithm, type SFTPWrapper } from 'ssh2';
import { StoreError } from '../store-error.js';
import { entriesFor, hostKeyAlgorithms, type KnownHostEntry } from './known-hosts.js';
import { hostKeyRefusal } from './host-key-refusal.js';
import { sshConnectionError, type ConnectContext } from './sftp-errors.js';
import type { SftpAuth } from './sftp-options.js';

/*
 * One SSH connection with one SFTP channel, and promises over SFTPWrapper's callbacks. Requests
 * are pipelined (many in flight on the one channel). ssh2 has no per-request timeout, so a
 * watchdog ends the connection when requests are outstanding and none has been answered for the
 * stall timeout; every outstanding request then fails as transient, and the backend opens a new
 * connection on its next call. (Elapsed time on the monotonic clock: network time, not the
 * injected Clock of policies and locks.)
 */

export interface SessionSettings {
  store: string;
  host: string;
  port: number;
  user: string;
  stallSeconds: number;
  /** Read at connect time (files, environment). */
  auth(): SftpAuth;
  knownHosts(): { files: string[]; entries: KnownHostEntry[] };
}

interface Pending {
  reject(e: unknown): void;
}

type Done<T> = (err: Error | null | undefined, value?: T) => void;

export class SftpSession {
  /** Why the session ended; set once, after which every request fails with it. */
  dead: StoreError | undefined;
  private readonly pending = new Set<Pending>();
  private lastProgress = performance.now();
  private readonly watchdog: NodeJS.Timeout;
  private readonly deathListeners: (() => void)[] = [];

  private constructor(
    private readonly client: ssh2.Client,
    readonly sftp: SFTPWrapper,
    private readonly settings: SessionSettings,
  ) {
    const stallMs = settings.stallSeconds * 1000;
    this.watchdog = setInterval(
      () => {
        if (this.pending.size > 0 && performance.now() - this.lastProgress > stallMs) {
          this.kill(
            new StoreError(
              'transient',
              settings.store,
              `no answer from ${settings.host}:${settings.port} for ${settings.stallSeconds} s (PRISM_STORE_STALL_SECONDS)`,
            ),
          );
        }
      },
      Math.min(1000, stallMs / 4),
    );
    this.watchdog.unref();
  }

  /** The SFTP extensions the server announced (`posix-rename@openssh.com` → "1"); ssh2 keeps them in a private field. */
  hasExtension(name: string): boolean {
    const ext = (this.sftp as unknown as { _extensions?: Record<string, string> })._extensions;
    return ext?.[name] !== undefined;
  }

  /** The largest READ and WRITE payloads the server takes (from limits@openssh.com, else ssh2's defaults), as a power of two so packs split evenly. */
  get chunkSizes(): { read: number; write: number } {
    const s = this.sftp as unknown as { _maxReadLen?: number; _maxWriteLen?: number };
    const pow2 = (n: number | undefined): number => (typeof n === 'number' && n >= 4096 ? 2 ** Math.floor(Math.log2(Math.min(n, 1 << 20))) : 16 * 1024);
    return { read: pow2(s._maxReadLen), write: pow2(s._maxWriteLen) };
  }

  onDeath(listener: () => void): void {
    if (this.dead) listener();
    else this.deathListeners.push(listener);
  }

  /** Issues one SFTP request; rejects with the session's death if the connection goes. */
  request<T>(issue: (sftp: SFTPWrapper, done: Done<T>) => void): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const entry: Pending = {
        reject: (e) => {
          if (settled) return;
          settled = true;
          reject(e);
        },
      };
      if (this.pending.size === 0) this.lastProgress = performance.now(); // idle time is no stall
      this.pending.add(entry);
      try {
        issue(this.sftp, (err, value) => {
          this.pending.delete(entry);
          this.lastProgress = performance.now();
          if (settled) return;
          settled = true;
          if (err) reject(err);
          else resolve(value as T);
        });
      } catch (e) {
        this.pending.delete(entry);
        entry.reject(e); // thrown at once: an extension the server lacks, a bad argument
      }
    });
  }

  /** Ends the session for `reason`: outstanding requests fail with it. */
  kill(reason: StoreError): void {
    if (this.dead) return;
    this.dead = reason;
    clearInterval(this.watchdog);
    for (const p of this.pending) p.reject(reason);
    this.pending.clear();
    this.client.destroy();
    for (const l of this.deathListeners.splice(0)) l();
  }

  /** Closes the connection politely (waits briefly for the server to acknowledge). */
  async end(): Promise<void> {
    if (this.dead) return;
    const closed = new Promise<void>((resolve) => {
      this.client.once('close', () => resolve());
      setTimeout(resolve, 2000).unref();
    });
    this.client.end();
    await closed;
    this.kill(new StoreError('permanent', this.settings.store, 'the SFTP backend was closed'));
  }

  /** Opens a connection: reads the key and known_hosts, logs in, pins the host key, starts SFTP. */
  static open(settings: SessionSettings): Promise<SftpSession> {
    const { store, host, port, user, stallSeconds } = settings;
    let auth: SftpAuth;
    let files: string[];
    let entries: KnownHostEntry[];
    try {
      auth = settings.auth();
      ({ files, entries } = settings.knownHosts());
    } catch (e) {
      return Promise.reject(e);
    }
    const ctx: ConnectContext = {
      store,
      target: `${user}@${host}:${port}`,
      authFrom: auth.kind === 'agent' ? 'any key of the ssh-agent (SSH_AUTH_SOCK)' : `the key ${auth.file} (${auth.from})`,
      stallSeconds,
      connected: false,
    };
    const client = new ssh2.Client();
    let refusal: StoreError | undefined;
    let session: SftpSession | undefined;
    return new Promise<SftpSession>((resolve, reject) => {
      let settled = false;
      const fail = (e: StoreError): void => {
        if (session) return session.kill(e);
        if (settled) return;
        settled = true;
        client.destroy();
        reject(e);
      };
      client.on('error', (err) => fail(refusal ?? sshConnectionError(err, ctx)));
      client.on('close', () => fail(refusal ?? new StoreError('transient', store, `the SSH connection to ${ctx.target} closed`)));
      client.on('ready', () => {
        ctx.connected = true;
        const timer = setTimeout(
          () => fail(new StoreError('transient', store, `${ctx.target} did not start SFTP within ${stallSeconds} s`)),
          stallSeconds * 1000,
        );
        client.sftp((err, sftp) => {
          clearTimeout(timer);
          if (settled) return;
          if (err) {
            return fail(
              new StoreError(
                'permanent',
                store,
                `${ctx.target} refused the SFTP subsystem (${err.message}): enable it in the server's sshd_config (Subsystem sftp)`,
                { cause: err },
              ),
            );
          }
          settled = true;
          session = new SftpSession(client, sftp, settings);
          const lost = (why: string) => (): void => session!.kill(new StoreError('transient', store, `the SFTP session with ${ctx.target} ${why}`));
          sftp.on('close', lost('closed'));
          sftp.on('end', lost('ended'));
          sftp.on('error', (e: Error) => session!.kill(sshConnectionError(e, ctx)));
          resolve(session);
        });
      });
      const config: ConnectConfig = {
        host,
        port,
        username: user,
        readyTimeout: stallSeconds * 1000,
        // a dead peer is noticed while idle too: 3 unanswered keepalives
        keepaliveInterval: Math.max(1000, Math.min(15_000, (stallSeconds * 1000) / 3)),
        keepaliveCountMax: 3,
        tryKeyboard: false,
        algorithms: { serverHostKey: hostKeyAlgorithms(entriesFor(entries, host, port)) as ServerHostKeyAlgorithm[] },
        hostVerifier: (key: Buffer): boolean => {
          refusal = hostKeyRefusal(entries, files, host, port, key, store);
          return refusal === undefined;
        },
      };
      if (auth.kind === 'agent') config.agent = auth.socket;
      else config.authHandler = [{ type: 'publickey', username: user, key: auth.key } as PublicKeyAuthMethod];
      try {
        client.connect(config);
      } catch (e) {
        fail(sshConnectionError(e, ctx));
      }
    });
  }
}
