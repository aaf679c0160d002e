import type { S3Client } from '@aws-sdk/client-s3';
import type { AtomicWrite, Backend, CallOptions, ObjectInfo, ReadOptions } from '../backend.js';
import { checkedName } from '../object-name.js';
import { ObjectNotFoundError, StoreError } from '../store-error.js';
import { RequestCounter } from './request-counter.js';
import { readBody, Slabs, uploadBody, type UploadBody } from './s3-body.js';
import { s3Error, type S3ErrorContext } from './s3-errors.js';
import type { S3Options } from './s3-options.js';

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

/**
 * Objects in an S3 bucket (AWS or any S3-compatible store: Ceph RGW, MinIO …) under a prefix.
 * Every write is one PutObject, which S3 makes visible whole or not at all, so nothing is ever
 * left unfinished; a conditional create is a PutObject with If-None-Match: *.
 * The SDK is loaded and the client made on the first call (the constructor does no I/O).
 */
export class S3Backend implements Backend {
  private readonly counter = new RequestCounter();
  private connection: Promise<Connection> | undefined;

  constructor(
    private readonly opts: S3Options,
    private readonly env: NodeJS.ProcessEnv,
    readonly location: string,
  ) {}

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

  /** One PutObject; SDK errors are thrown as they are, for the caller to read (412) or classify. */
  private async putObject(key: string, body: UploadBody, extra: { storageClass?: string; ifNoneMatch?: boolean }, signal?: AbortSignal): Promise<void> {
    const { m, client } = await this.connect();
    const cmd = new m.PutObjectCommand({
      Bucket: this.opts.bucket,
      Key: key,
      Body: body.body(),
      ContentLength: body.length,
      ...(extra.storageClass ? { StorageClass: extra.storageClass as never } : {}),
      ...(extra.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
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
    await client.send(cmd, { abortSignal: signal });
  }

  async put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const key = this.key(name);
    const storageClass = this.storageClassFor(name);
    try {
      await this.putObject(key, uploadBody(data), { storageClass }, opts?.signal);
    } catch (e) {
      throw this.error(e, opts?.signal, { storageClass });
    }
  }

  async putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean> {
    opts?.signal?.throwIfAborted();
    const key = this.key(name);
    try {
      await this.putObject(key, uploadBody(data), { ifNoneMatch: true }, opts?.signal);
      return true;
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
          out.push({ name: o.Key.slice(root.length), size: o.Size ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw this.error(e, opts?.signal);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const key = this.key(name);
    const { m, client } = await this.connect();
    try {
      await client.send(new m.DeleteObjectCommand({ Bucket: this.opts.bucket, Key: key }), { abortSignal: opts?.signal });
    } catch (e) {
      if (statusOf(e) === 404 && codeOf(e) !== 'NoSuchBucket') return;
      throw this.error(e, opts?.signal);
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
