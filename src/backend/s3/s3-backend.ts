import type { S3Client } from '@aws-sdk/client-s3';
import { systemClock, type Clock } from '../../core/clock.js';
import { PrismError } from '../../errors/index.js';
import type { AtomicWrite, Backend, CallOptions, ObjectInfo, ObjectLock, ObjectVersion, ReadOptions, Retaining } from '../backend.js';
import { checkedName } from '../object-name.js';
import { isStoreError, ObjectNotFoundError, StoreError } from '../store-error.js';
import { RequestCounter } from './request-counter.js';
import { readBody, Slabs, uploadBody, type UploadBody } from './s3-body.js';
import { s3Error, type S3ErrorContext } from './s3-errors.js';
import type { S3Options } from './s3-options.js';
import { byNameNewestFirst, createdFirst, heldBy, versionsOf, type VersionPage } from './s3-versions.js';

type ClientModule = typeof import('./s3-client.js');
interface Connection {
  m: ClientModule;
  client: S3Client;
}

/** The most keys one listing page returns (S3's own maximum). */
const PAGE_KEYS = 1000;

interface SdkAnswer {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}
const statusOf = (e: unknown): number | undefined => (e as SdkAnswer | undefined)?.$metadata?.httpStatusCode;
const codeOf = (e: unknown): string | undefined => (e as SdkAnswer | undefined)?.name;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Objects that must stay deletable whatever the retention: a lock left behind would block every later run. */
const UNRETAINED = 'locks/';
/** The answers that say an object has no retention (RGW and AWS spell it differently). */
const NO_RETENTION = new Set(['ObjectLockConfigurationNotFoundError', 'NoSuchObjectLockConfiguration']);

/** A retention to write an object with: S3's mode name and the date. */
interface Retention {
  mode: 'COMPLIANCE' | 'GOVERNANCE';
  until: Date;
}

/**
 * Objects in an S3 bucket (AWS or any S3-compatible store: Ceph RGW, MinIO …) under a prefix.
 * Every write is one PutObject, which S3 makes visible whole or not at all, so nothing is ever
 * left unfinished; a conditional create is a PutObject with If-None-Match: *.
 * The SDK is loaded and the client made on the first call (the constructor does no I/O).
 *
 * With `objectLock` (backup.object_lock) the bucket must have Object Lock: every object but the
 * locks is written with that retention, deletes remove versions by id, and the backend is
 * Retaining (backend.ts): see s3-versions.ts for what a bucket with versions changes.
 */
export class S3Backend implements Backend, Retaining {
  private readonly counter = new RequestCounter();
  private connection: Promise<Connection> | undefined;
  /** Set once the bucket turned out to lack Object Lock: every later write fails with it at once. */
  private lockMissing: PrismError | undefined;

  constructor(
    private readonly opts: S3Options,
    private readonly env: NodeJS.ProcessEnv,
    readonly location: string,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The retention objects are written with; undefined without backup.object_lock (then the backend is not Retaining). */
  get objectLock(): ObjectLock {
    return this.opts.objectLock!;
  }

  /** Whether objects are written under retention (retainingOf asks this before using the backend as Retaining). */
  get retaining(): boolean {
    return this.opts.objectLock !== undefined;
  }

  private connect(): Promise<Connection> {
    // The SDK warns on every start under Node 20 that its releases after January 2027 need Node 22:
    // a note for prism's maintainers (package.json pins what works), not for each command's output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.connection ??= import('./s3-client.js').then((m) => ({ m, client: m.createS3Client(this.opts, this.env, this.counter) }));
    return this.connection;
  }

  /** The client, for tests and benchmarks (to add a middleware that records requests). */
  async s3Client(): Promise<S3Client> {
    return (await this.connect()).client;
  }

  /** Requests sent so far, by operation (PutObject, GetObject, ListObjectsV2 …). */
  requestCounts(): Record<string, number> {
    return this.counter.snapshot();
  }

  private key(name: string): string {
    checkedName(name);
    return this.opts.prefix ? `${this.opts.prefix}/${name}` : name;
  }

  /** Packs (`data/`) take the configured storage class; metadata (index, snapshots, locks, keys) stays in STANDARD. */
  private storageClassFor(name: string): string | undefined {
    return name.startsWith('data/') ? this.opts.packStorageClass : undefined;
  }

  private error(e: unknown, signal: AbortSignal | undefined, more: Partial<S3ErrorContext> = {}): unknown {
    return s3Error(e, { store: this.location, bucket: this.opts.bucket, endpoint: this.opts.endpoint, signal, ...more });
  }

  /** The retention a write of `name` gets now (none without backup.object_lock, and none for locks). */
  private retentionFor(name: string): Retention | undefined {
    const lock = this.opts.objectLock;
    if (!lock || name.startsWith(UNRETAINED)) return undefined;
    return { mode: lock.mode === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE', until: new Date(this.clock.now().getTime() + lock.days * DAY_MS) };
  }

  /** A write's version id: on a bucket that keeps versions (a bucket without answers none; one with versioning suspended, "null"). */
  private versionOf(versionId: string | undefined): string | undefined {
    return versionId === undefined || versionId === 'null' ? undefined : versionId;
  }

  /**
   * A write with a retention failed: if it is because the bucket has no Object Lock, that is the
   * operator's error, said once (OBJECT_LOCK_UNAVAILABLE); otherwise the write's own error stands.
   */
  private async lockMissingError(e: unknown, signal?: AbortSignal): Promise<PrismError | undefined> {
    if (this.lockMissing) return this.lockMissing;
    if (e !== undefined && (statusOf(e) !== 400 || signal?.aborted)) return undefined;
    const { m, client } = await this.connect();
    let enabled: boolean;
    try {
      const out = await client.send(new m.GetObjectLockConfigurationCommand({ Bucket: this.opts.bucket }), { abortSignal: signal });
      enabled = out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (err) {
      if (!NO_RETENTION.has(codeOf(err) ?? '') && statusOf(err) !== 404) return undefined; // cannot tell: the write's own error says more
      enabled = false;
    }
    if (enabled) return undefined;
    this.lockMissing = new PrismError(
      'OBJECT_LOCK_UNAVAILABLE',
      `backup.object_lock is set, but the bucket ${this.opts.bucket} (${this.location}) has no Object Lock: the store cannot keep prism's objects under retention, so nothing was written. Create a bucket with Object Lock (aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket) and point the repository there, or remove backup.object_lock.`,
      { store: this.location, bucket: this.opts.bucket },
      { cause: e },
    );
    return this.lockMissing;
  }

  /** One PutObject (its version id, on a bucket that keeps versions); SDK errors are thrown as they are, for the caller to read (412) or classify. */
  private async putObject(
    key: string,
    body: UploadBody,
    extra: { storageClass?: string; ifNoneMatch?: boolean; retention?: Retention },
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const { m, client } = await this.connect();
    const r = extra.retention;
    const cmd = new m.PutObjectCommand({
      Bucket: this.opts.bucket,
      Key: key,
      Body: body.body(),
      ContentLength: body.length,
      ...(extra.storageClass ? { StorageClass: extra.storageClass as never } : {}),
      ...(extra.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
      // AWS wants Content-MD5 or a checksum header with Object Lock parameters: the SHA-256 is at hand
      ...(r ? { ObjectLockMode: r.mode, ObjectLockRetainUntilDate: r.until, ChecksumSHA256: Buffer.from(body.sha256, 'hex').toString('base64') } : {}),
    });
    // the payload's SHA-256, computed over the parts: the signer signs it instead of sending
    // UNSIGNED-PAYLOAD for a stream, and the store refuses a body that does not match it
    cmd.middlewareStack.add(
      (next) => (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = body.sha256;
        return next(args);
      },
      { step: 'build', name: 'prismPayloadSha256' },
    );
    return this.versionOf((await client.send(cmd, { abortSignal: signal })).VersionId);
  }

  async put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const key = this.key(name);
    const storageClass = this.storageClassFor(name);
    const retention = this.retentionFor(name);
    if (retention && this.lockMissing) throw this.lockMissing;
    try {
      await this.putObject(key, uploadBody(data), { storageClass, retention }, opts?.signal);
    } catch (e) {
      if (retention) {
        const missing = await this.lockMissingError(e, opts?.signal).catch(() => undefined);
        if (missing) throw missing;
      }
      throw this.error(e, opts?.signal, { storageClass, writing: name });
    }
  }

  async putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean> {
    opts?.signal?.throwIfAborted();
    const key = this.key(name);
    const retention = this.retentionFor(name);
    if (retention && this.lockMissing) throw this.lockMissing;
    let versionId: string | undefined;
    try {
      // under Object Lock the retention comes once this write is known to have won: a losing
      // version must be removable again
      versionId = await this.putObject(key, uploadBody(data), { ifNoneMatch: true }, opts?.signal);
    } catch (e) {
      if (opts?.signal?.aborted) throw opts.signal.reason;
      if (statusOf(e) === 412) return false;
      // AWS: another conditional write of this key was under way; it won if the object is there now
      if (statusOf(e) === 409 && codeOf(e) === 'ConditionalRequestConflict') {
        if (await this.exists(name, opts)) return false;
        throw new StoreError('transient', this.location, `a concurrent conditional write of ${name} (ConditionalRequestConflict) left nothing: try again`, {
          cause: e,
          objectName: name,
        });
      }
      throw this.error(e, opts?.signal);
    }
    if (versionId === undefined) {
      if (!retention) return true;
      // a bucket without versions has no Object Lock either: what was just made goes again (it is
      // ours), so that nothing stays there unprotected
      await this.delete(name, opts).catch(() => undefined);
      throw (
        (await this.lockMissingError(undefined, opts?.signal)) ??
        new StoreError('permanent', this.location, `the bucket ${this.opts.bucket} keeps no versions, which Object Lock needs`)
      );
    }
    let versions: ObjectVersion[];
    try {
      versions = await this.versionsOfKey(name, opts);
    } catch (e) {
      // credentials that may not list versions: the store's own answer to If-None-Match stands (AWS keeps it)
      if (!retention && isStoreError(e, 'permanent')) return true;
      throw e;
    }
    if (!createdFirst(versions, versionId)) {
      await this.deleteVersion(name, versionId, opts);
      return false;
    }
    if (retention) await this.retain(name, versionId, retention, opts);
    return true;
  }

  /** Puts one version under retention (PutObjectRetention); without a version id, the current one. */
  private async retain(name: string, versionId: string | undefined, r: Retention, opts: CallOptions | undefined): Promise<void> {
    const { m, client } = await this.connect();
    try {
      await client.send(
        new m.PutObjectRetentionCommand({
          Bucket: this.opts.bucket,
          Key: this.key(name),
          ...(versionId ? { VersionId: versionId } : {}),
          Retention: { Mode: r.mode, RetainUntilDate: r.until },
        }),
        { abortSignal: opts?.signal },
      );
    } catch (e) {
      const missing = await this.lockMissingError(e, opts?.signal).catch(() => undefined);
      if (missing) throw missing;
      throw this.error(e, opts?.signal, { objectName: name });
    }
  }

  private async getObject(name: string, range: { offset: number; length: number } | undefined, opts: ReadOptions | undefined): Promise<Buffer> {
    opts?.signal?.throwIfAborted();
    const key = this.key(name);
    const { m, client } = await this.connect();
    try {
      const out = await client.send(
        new m.GetObjectCommand({ Bucket: this.opts.bucket, Key: key, ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}) }),
        { abortSignal: opts?.signal },
      );
      const body = out.Body as unknown as AsyncIterable<Uint8Array> & { destroy(e?: Error): void };
      if (range && out.ContentLength !== range.length) {
        body.destroy();
        throw this.shortRange(name, range, out.ContentRange);
      }
      return await readBody(body, out.ContentLength, opts?.into, opts?.signal);
    } catch (e) {
      if (range && codeOf(e) === 'InvalidRange') throw this.shortRange(name, range, undefined, e);
      throw this.error(e, opts?.signal, { objectName: name });
    }
  }

  private shortRange(name: string, range: { offset: number; length: number }, contentRange: string | undefined, cause?: unknown): StoreError {
    const total = contentRange?.split('/')[1];
    return new StoreError(
      'permanent',
      this.location,
      `short read of ${name}: ${range.length} bytes at ${range.offset} asked${total ? `, the object has ${total}` : ''}`,
      {
        cause,
        objectName: name,
      },
    );
  }

  get(name: string, opts?: ReadOptions): Promise<Buffer> {
    return this.getObject(name, undefined, opts);
  }

  async getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    if (length === 0) {
      // no byte range reads nothing: only whether the object reaches that far
      if (offset > (await this.size(name, opts))) throw this.shortRange(name, { offset, length }, undefined);
      return Buffer.alloc(0);
    }
    return this.getObject(name, { offset, length }, opts);
  }

  /** HeadObject: the size, or undefined for a missing object (HEAD answers carry no error code: any 404). */
  private async head(name: string, opts: CallOptions | undefined): Promise<number | undefined> {
    opts?.signal?.throwIfAborted();
    const key = this.key(name);
    const { m, client } = await this.connect();
    try {
      const out = await client.send(new m.HeadObjectCommand({ Bucket: this.opts.bucket, Key: key }), { abortSignal: opts?.signal });
      return out.ContentLength ?? 0;
    } catch (e) {
      if (statusOf(e) === 404 && !opts?.signal?.aborted) return undefined;
      throw this.error(e, opts?.signal, { objectName: name });
    }
  }

  async exists(name: string, opts?: CallOptions): Promise<boolean> {
    return (await this.head(name, opts)) !== undefined;
  }

  async size(name: string, opts?: CallOptions): Promise<number> {
    const size = await this.head(name, opts);
    if (size === undefined) throw new ObjectNotFoundError(name, this.location);
    return size;
  }

  async list(prefix: string, opts?: CallOptions): Promise<ObjectInfo[]> {
    opts?.signal?.throwIfAborted();
    const folder = prefix.replace(/\/+$/, '');
    const root = this.opts.prefix ? `${this.opts.prefix}/` : '';
    const under = folder === '' ? root : `${this.key(folder)}/`;
    const { m, client } = await this.connect();
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await client.send(
          new m.ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: under, MaxKeys: PAGE_KEYS, ...(token ? { ContinuationToken: token } : {}) }),
          { abortSignal: opts?.signal },
        );
        for (const o of page.Contents ?? []) {
          // "folder" markers that consoles create (a key ending in /) are no objects of prism's
          if (o.Key === undefined || o.Key.endsWith('/')) continue;
          out.push({ name: o.Key.slice(root.length), size: o.Size ?? 0, ...etagFields(o.ETag) });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw this.error(e, opts?.signal);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Removes the object. Under Object Lock: every version of it, by id, oldest first (a plain
   * DeleteObject would only add a delete marker); a version under retention stops it with a
   * `protected` StoreError, leaving that version and the newer ones, so the object reads as before.
   */
  async delete(name: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    if (this.opts.objectLock) {
      for (const v of (await this.versionsOfKey(name, opts)).reverse()) await this.deleteVersion(name, v.versionId, opts);
      return;
    }
    const key = this.key(name);
    const { m, client } = await this.connect();
    try {
      await client.send(new m.DeleteObjectCommand({ Bucket: this.opts.bucket, Key: key }), { abortSignal: opts?.signal });
    } catch (e) {
      if (statusOf(e) === 404 && codeOf(e) !== 'NoSuchBucket') return;
      throw this.error(e, opts?.signal, { deleting: true, objectName: name });
    }
  }

  async deleteVersion(name: string, versionId: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const key = this.key(name);
    const { m, client } = await this.connect();
    try {
      await client.send(new m.DeleteObjectCommand({ Bucket: this.opts.bucket, Key: key, VersionId: versionId }), { abortSignal: opts?.signal });
    } catch (e) {
      if (statusOf(e) === 404 && codeOf(e) !== 'NoSuchBucket') return;
      if (statusOf(e) === 403 && !opts?.signal?.aborted) {
        const held = await this.heldVersion(key, versionId, e, opts);
        if (held) {
          throw new StoreError(
            'protected',
            this.location,
            `${name} is under retention${held.until ? ` until ${held.until.toISOString()}` : ' (a legal hold)'}`,
            {
              cause: e,
              objectName: name,
              ...(held.until ? { retainUntil: held.until } : {}),
            },
          );
        }
      }
      throw this.error(e, opts?.signal, { deleting: true, objectName: name });
    }
  }

  /** Whether a refused delete of a version was its retention's doing (and until when), not the credentials'. */
  private async heldVersion(key: string, versionId: string, refusal: unknown, opts: CallOptions | undefined): Promise<{ until: Date | undefined } | undefined> {
    const { m, client } = await this.connect();
    try {
      const head = await client.send(new m.HeadObjectCommand({ Bucket: this.opts.bucket, Key: key, VersionId: versionId }), { abortSignal: opts?.signal });
      const h = heldBy(head, this.clock.now());
      return h.held ? { until: h.until } : undefined;
    } catch {
      // a reader that may not look at the version: RGW and AWS name the lock in their refusal
      return /object lock/i.test((refusal as Error).message ?? '') ? { until: undefined } : undefined;
    }
  }

  /** The versions and delete markers of exactly this object, newest first. */
  private async versionsOfKey(name: string, opts: CallOptions | undefined): Promise<ObjectVersion[]> {
    const key = this.key(name);
    const root = this.opts.prefix ? `${this.opts.prefix}/` : '';
    return (await this.versionPages(key, opts)).filter((v) => root + v.name === key);
  }

  /** Every version and delete marker whose key starts with `keyPrefix`, by name and newest first. */
  private async versionPages(keyPrefix: string, opts: CallOptions | undefined): Promise<ObjectVersion[]> {
    opts?.signal?.throwIfAborted();
    const root = this.opts.prefix ? `${this.opts.prefix}/` : '';
    const { m, client } = await this.connect();
    const out: ObjectVersion[] = [];
    let marker: { key: string; version: string | undefined } | undefined;
    try {
      do {
        const page: VersionPage = await client.send(
          new m.ListObjectVersionsCommand({
            Bucket: this.opts.bucket,
            Prefix: keyPrefix,
            MaxKeys: PAGE_KEYS,
            ...(marker ? { KeyMarker: marker.key, ...(marker.version ? { VersionIdMarker: marker.version } : {}) } : {}),
          }),
          { abortSignal: opts?.signal },
        );
        out.push(...versionsOf(page, root));
        marker = page.IsTruncated && page.NextKeyMarker !== undefined ? { key: page.NextKeyMarker, version: page.NextVersionIdMarker } : undefined;
      } while (marker);
    } catch (e) {
      throw this.error(e, opts?.signal);
    }
    return out.sort(byNameNewestFirst);
  }

  async listVersions(prefix: string, opts?: CallOptions): Promise<ObjectVersion[]> {
    const folder = prefix.replace(/\/+$/, '');
    const root = this.opts.prefix ? `${this.opts.prefix}/` : '';
    return this.versionPages(folder === '' ? root : `${this.key(folder)}/`, opts);
  }

  async retentionOf(name: string, opts?: CallOptions): Promise<Date | undefined> {
    opts?.signal?.throwIfAborted();
    const { m, client } = await this.connect();
    try {
      const out = await client.send(new m.GetObjectRetentionCommand({ Bucket: this.opts.bucket, Key: this.key(name) }), { abortSignal: opts?.signal });
      return out.Retention?.RetainUntilDate;
    } catch (e) {
      if (NO_RETENTION.has(codeOf(e) ?? '') && !opts?.signal?.aborted) return undefined;
      throw this.error(e, opts?.signal, { objectName: name });
    }
  }

  /**
   * PutObjectRetention on the current version. A store refuses to shorten a retention and to
   * change its mode without a governance bypass: when it refuses, the retention the object has
   * decides — already as long is done; of the other mode (backup.object_lock.mode was changed) is
   * extended in that mode.
   */
  async extendRetention(name: string, until: Date, opts?: CallOptions): Promise<void> {
    const mode = this.opts.objectLock?.mode === 'governance' ? 'GOVERNANCE' : 'COMPLIANCE';
    const { m, client } = await this.connect();
    const put = (Mode: 'COMPLIANCE' | 'GOVERNANCE') =>
      client.send(new m.PutObjectRetentionCommand({ Bucket: this.opts.bucket, Key: this.key(name), Retention: { Mode, RetainUntilDate: until } }), {
        abortSignal: opts?.signal,
      });
    try {
      await put(mode);
    } catch (e) {
      if (statusOf(e) !== 403 || opts?.signal?.aborted) throw this.error(e, opts?.signal, { objectName: name });
      let current: { Mode?: string; RetainUntilDate?: Date } | undefined;
      try {
        current = (await client.send(new m.GetObjectRetentionCommand({ Bucket: this.opts.bucket, Key: this.key(name) }), { abortSignal: opts?.signal }))
          .Retention;
      } catch {
        throw this.error(e, opts?.signal, { objectName: name });
      }
      if (current?.RetainUntilDate && current.RetainUntilDate.getTime() >= until.getTime()) return;
      const other = current?.Mode === 'GOVERNANCE' ? 'GOVERNANCE' : current?.Mode === 'COMPLIANCE' ? 'COMPLIANCE' : undefined;
      if (!other || other === mode) throw this.error(e, opts?.signal, { objectName: name });
      try {
        await put(other);
      } catch (e2) {
        throw this.error(e2, opts?.signal, { objectName: name });
      }
    }
  }

  openAtomic(_prefixHint: string): AtomicWrite {
    const slabs = new Slabs();
    return {
      write: (data) => slabs.write(data),
      get bytes() {
        return slabs.bytes;
      },
      // the bytes stay until the commit succeeds or abort(): a failed commit can be sent again
      commit: async (name, opts) => {
        await this.put(name, slabs.parts(), opts);
        slabs.clear();
      },
      abort: async () => slabs.clear(),
    };
  }

  async removeUnfinished(): Promise<number> {
    return 0; // a single PutObject is stored whole or not at all: nothing is ever left unfinished
  }

  async close(): Promise<void> {
    const conn = this.connection;
    this.connection = undefined;
    if (conn) (await conn.catch(() => undefined))?.client.destroy();
  }
}

/** What a listed ETag tells: a version of the object, and its bytes' MD5 when it has the form of one (a single-part upload's). */
function etagFields(etag: string | undefined): { version?: string; md5?: string } {
  if (!etag) return {};
  const bare = etag.replace(/^"|"$/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(bare) ? { version: etag, md5: bare } : { version: etag };
}
