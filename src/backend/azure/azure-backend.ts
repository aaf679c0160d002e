/**
 * Objects as block blobs in an Azure Blob container, under a prefix.
 *
 * - Writes: one Put Blob for bodies up to 256 MiB (packs are ~16 MiB), streamed from the
 *   written buffers, with the body's MD5 (Content-MD5: Azure refuses a body damaged on the way,
 *   and keeps it as the blob's Content-MD5). Larger bodies go as staged blocks committed with one
 *   Put Block List at the end: until then nothing is visible under the name, and uncommitted
 *   blocks are never listed; Azure discards them after a week (or when the name is written
 *   again). So there is nothing unfinished to remove: removeUnfinished returns 0.
 * - putIfAbsent: Put Blob with If-None-Match: * (Azure decides atomically; 409/412 → false).
 * - Reads: one GET, its body read straight into the caller's reused buffer (the size comes with
 *   the response headers, so no extra request).
 * - No retries here (the SDK's are off): a RetryingBackend above retries transient errors.
 */
import { randomBytes } from 'node:crypto';
import {
  AnonymousCredential,
  ContainerClient,
  newPipeline,
  StorageSharedKeyCredential,
  type BlockBlobUploadOptions,
  type BlobRequestConditions,
} from '@azure/storage-blob';
import type { AtomicWrite, Backend, CallOptions, ObjectInfo, ReadBuffer, ReadOptions } from '../backend.js';
import type { Location } from '../location.js';
import { checkedName } from '../object-name.js';
import { StoreError } from '../store-error.js';
import { credentialHint, type AzureAccess } from './azure-env.js';
import { azureErrorCode, azureStoreError, type AzureErrorContext } from './azure-errors.js';
import { md5Of, partsStream, sliceParts, SlabWriter, totalLength } from './body-parts.js';
import { RequestWatch, type AzureOperation, type Call, type RequestPolicy } from './request-watch.js';

const MiB = 1024 * 1024;

export interface AzureTuning {
  /** Bodies up to this size go as one Put Blob, larger ones as staged blocks (default 256 MiB). */
  singlePutLimit?: number;
  /** The size of a staged block (default 64 MiB). */
  blockSize?: number;
  /** Blobs per listing page (default 5000, Azure's maximum). */
  pageSize?: number;
}

type AzureLocation = Extract<Location, { kind: 'azure' }>;

export class AzureBackend implements Backend {
  private readonly watch: RequestWatch;
  private readonly container: ContainerClient;
  /** The prefix with its slash ('repo/'), or '' at the container's root. */
  private readonly base: string;
  private readonly context: Omit<AzureErrorContext, 'objectName' | 'what'>;
  private readonly singlePutLimit: number;
  private readonly blockSize: number;
  private readonly pageSize: number;

  /** No network I/O here: the first call connects. */
  constructor(
    loc: AzureLocation,
    access: AzureAccess,
    readonly location: string,
    stallMs: number,
    tuning: AzureTuning = {},
  ) {
    this.watch = new RequestWatch(stallMs);
    this.base = loc.prefix ? `${loc.prefix}/` : '';
    this.context = { store: location, account: access.account, container: loc.container, credentialHint: credentialHint(access) };
    this.singlePutLimit = tuning.singlePutLimit ?? 256 * MiB;
    this.blockSize = tuning.blockSize ?? 64 * MiB;
    this.pageSize = tuning.pageSize ?? 5000;
    const credential = access.credential.kind === 'key' ? new StorageSharedKeyCredential(access.account, access.credential.key) : new AnonymousCredential();
    const pipeline = newPipeline(credential, {
      // retries belong to the RetryingBackend above, stalls to request-watch.ts: the SDK's
      // tryTimeoutInMs is only a server-side timeout= per request, which on a slow link would cap a
      // whole 16 MiB upload, so it is left to the service's default
      retryOptions: { maxTries: 1 },
      keepAliveOptions: { enable: true },
      userAgentOptions: { userAgentPrefix: 'prism' },
    });
    const sas = access.credential.kind === 'sas' ? `?${access.credential.sas}` : '';
    this.container = new ContainerClient(`${access.endpoint}/${loc.container}${sas}`, pipeline);
    addPolicy(this.container, this.watch.policy);
  }

  /** HTTP requests sent so far, per operation (put, get, list …). */
  requestCounts(): Record<string, number> {
    return this.watch.requestCounts();
  }

  private key(name: string): string {
    return this.base + checkedName(name);
  }

  private blob(name: string) {
    return this.container.getBlockBlobClient(this.key(name));
  }

  /** Runs one backend call with its stall watchdog; its errors as StoreErrors (the caller's abort as the signal's reason). */
  private async run<T>(op: AzureOperation, objectName: string | undefined, opts: CallOptions | undefined, fn: (call: Call) => Promise<T>): Promise<T> {
    opts?.signal?.throwIfAborted();
    const call = this.watch.start(op, opts?.signal);
    try {
      return await fn(call);
    } catch (e) {
      if (opts?.signal?.aborted) throw opts.signal.reason;
      const what = `${op}${objectName === undefined ? '' : ` ${objectName}`}`;
      if (call.stalled) throw new StoreError('transient', this.location, `${what}: ${(call.signal.reason as Error).message}`, { cause: e, objectName });
      throw azureStoreError(e, { ...this.context, objectName, what, deleting: op === 'delete' });
    } finally {
      call.end();
    }
  }

  async put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    const key = this.key(name);
    const parts = data instanceof Uint8Array ? [data] : data;
    await this.run('put', name, opts, (call) => this.upload(key, parts, call));
  }

  async putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean> {
    const key = this.key(name);
    return this.run('putIfAbsent', name, opts, async (call) => {
      try {
        await this.upload(key, [data], call, { ifNoneMatch: '*' });
        return true;
      } catch (e) {
        const status = (e as { statusCode?: number }).statusCode;
        if (status === 412 || (status === 409 && azureErrorCode(e) === 'BlobAlreadyExists')) return false;
        throw e;
      }
    });
  }

  /** One Put Blob (or staged blocks and one Put Block List) of the parts, streamed, with their MD5. */
  private async upload(key: string, parts: readonly Uint8Array[], call: Call, conditions?: BlobRequestConditions): Promise<void> {
    const client = this.container.getBlockBlobClient(key);
    const length = totalLength(parts);
    const md5 = md5Of(parts);
    if (length <= this.singlePutLimit) {
      // transactionalContentMD5 (the Content-MD5 header, checked on arrival) is read by upload() but missing from its option type
      const options: BlockBlobUploadOptions & { transactionalContentMD5: Uint8Array } = {
        abortSignal: call.signal,
        conditions,
        blobHTTPHeaders: { blobContentMD5: md5 },
        transactionalContentMD5: md5,
      };
      await client.upload(() => partsStream(parts, call.progress), length, options);
      return;
    }
    // block ids of one upload share a random tag: two writers of one name never mix their blocks
    const tag = randomBytes(8).toString('hex');
    const ids: string[] = [];
    for (let offset = 0; offset < length; offset += this.blockSize) {
      const n = Math.min(this.blockSize, length - offset);
      const slice = sliceParts(parts, offset, n);
      const id = Buffer.from(`${tag}-${String(ids.length).padStart(6, '0')}`).toString('base64');
      await client.stageBlock(id, () => partsStream(slice, call.progress), n, { abortSignal: call.signal, transactionalContentMD5: md5Of(slice) });
      ids.push(id);
    }
    await client.commitBlockList(ids, { abortSignal: call.signal, conditions, blobHTTPHeaders: { blobContentMD5: md5 } });
  }

  async get(name: string, opts?: ReadOptions): Promise<Buffer> {
    const client = this.blob(name);
    return this.run('get', name, opts, (call) => this.download(client, 0, undefined, call, opts?.into));
  }

  async getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    const client = this.blob(name);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new Error(`invalid range of ${name}: ${length} bytes at ${offset}`);
    }
    return this.run('getRange', name, opts, async (call) => {
      if (length === 0) {
        // a GET of 0 bytes would ask for the whole rest of the blob: its size says whether the range is inside
        const size = (await client.getProperties({ abortSignal: call.signal })).contentLength ?? 0;
        if (offset > size) throw this.shortRead(name, offset, length, size);
        return Buffer.alloc(0);
      }
      return this.download(client, offset, length, call, opts?.into);
    });
  }

  /** One GET: the size comes with the headers, the body goes straight into the reused buffer when it fits. */
  private async download(
    client: ReturnType<ContainerClient['getBlockBlobClient']>,
    offset: number,
    length: number | undefined,
    call: Call,
    into: ReadBuffer | undefined,
  ): Promise<Buffer> {
    const res = await client.download(offset, length, { abortSignal: call.signal, maxRetryRequests: 0 });
    const body = res.readableStreamBody;
    const size = res.contentLength;
    if (size === undefined || !body) throw new StoreError('transient', this.location, `the answer to a read of ${client.name} had no length or no body`);
    if (length !== undefined && size < length) {
      body.destroy();
      throw this.shortRead(client.name.slice(this.base.length), offset, length, offset + size);
    }
    const target = into ? grown(into, size) : Buffer.allocUnsafe(size);
    let done = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      call.progress();
      if (done + chunk.length > size)
        throw new StoreError('transient', this.location, `the read of ${client.name} brought more than the ${size} bytes announced`);
      target.set(chunk, done);
      done += chunk.length;
    }
    if (done !== size) throw new StoreError('transient', this.location, `the read of ${client.name} ended after ${done} of ${size} bytes`);
    return target.subarray(0, size);
  }

  private shortRead(name: string, offset: number, length: number, size: number): StoreError {
    return new StoreError('permanent', this.location, `short read of ${name}: ${length} bytes at ${offset}, but the object ends at ${size}`, {
      objectName: name,
    });
  }

  async exists(name: string, opts?: CallOptions): Promise<boolean> {
    const client = this.blob(name);
    return this.run('exists', name, opts, async (call) => {
      try {
        await client.getProperties({ abortSignal: call.signal });
        return true;
      } catch (e) {
        if (isBlobMissing(e)) return false;
        throw e;
      }
    });
  }

  async size(name: string, opts?: CallOptions): Promise<number> {
    const client = this.blob(name);
    return this.run('size', name, opts, async (call) => (await client.getProperties({ abortSignal: call.signal })).contentLength ?? 0);
  }

  async list(prefix: string, opts?: CallOptions): Promise<ObjectInfo[]> {
    const folder = prefix.replace(/\/+$/, '');
    const under = folder === '' ? this.base : `${this.key(folder)}/`;
    return this.run('list', undefined, opts, async (call) => {
      const out: ObjectInfo[] = [];
      const pages = this.container.listBlobsFlat({ prefix: under || undefined, abortSignal: call.signal }).byPage({ maxPageSize: this.pageSize });
      for await (const page of pages) {
        call.progress();
        for (const item of page.segment.blobItems) {
          const name = item.name.slice(this.base.length);
          // names prism cannot address (a folder marker "x/" written by another tool) are not its objects
          if (!isObjectName(name)) continue;
          const { etag, contentMD5 } = item.properties;
          out.push({
            name,
            size: item.properties.contentLength ?? 0,
            ...(etag ? { version: etag } : {}),
            ...(contentMD5 && contentMD5.length === 16 ? { md5: Buffer.from(contentMD5).toString('hex') } : {}),
          });
        }
      }
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  async delete(name: string, opts?: CallOptions): Promise<void> {
    const client = this.blob(name);
    await this.run('delete', name, opts, async (call) => {
      try {
        await client.delete({ abortSignal: call.signal, deleteSnapshots: 'include' });
      } catch (e) {
        if (!isBlobMissing(e)) throw e;
      }
    });
  }

  openAtomic(): AtomicWrite {
    const slabs = new SlabWriter();
    let state: 'open' | 'committed' | 'aborted' = 'open';
    const backend = this;
    return {
      write(data: Uint8Array): void {
        if (state !== 'open') throw new Error(`write to an atomic write already ${state}`);
        slabs.write(data);
      },
      get bytes() {
        return slabs.bytes;
      },
      async commit(name: string, opts?: CallOptions): Promise<void> {
        if (state !== 'open') throw new Error(`commit of an atomic write already ${state}`);
        // the slabs stay until success or abort: a failed commit may be tried again
        await backend.put(name, slabs.parts(), opts);
        state = 'committed';
        slabs.clear();
      },
      async abort(): Promise<void> {
        state = 'aborted';
        slabs.clear(); // nothing was sent that could be visible: a Put Blob is whole or absent
      },
    };
  }

  /** Nothing a killed writer leaves is visible: a Put Blob is whole or absent, and uncommitted blocks are never listed and expire. */
  async removeUnfinished(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    this.watch.close();
  }
}

/** The reused buffer, replaced by a larger one when too small. */
function grown(into: ReadBuffer, size: number): Buffer {
  if (into.buffer.length < size) into.buffer = Buffer.allocUnsafeSlow(Math.max(size, Math.floor(into.buffer.length * 1.5)));
  return into.buffer;
}

/** A 404 for the blob (not for its container: that one says ContainerNotFound). */
function isBlobMissing(e: unknown): boolean {
  const code = azureErrorCode(e);
  return code === 'BlobNotFound' || ((e as { statusCode?: number }).statusCode === 404 && code === undefined);
}

function isObjectName(name: string): boolean {
  try {
    checkedName(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Puts the request watch into the SDK's pipeline. storage-blob offers no public way to add a
 * core pipeline policy, but every client made from one Pipeline shares one core pipeline,
 * reachable from a client: adding the policy there once covers every blob client of the container.
 */
function addPolicy(client: ContainerClient, policy: RequestPolicy): void {
  type CorePipeline = { addPolicy(p: RequestPolicy, o: { afterPhase: 'Sign' }): void };
  const pipeline = (client as unknown as { storageClientContext?: { pipeline?: CorePipeline } }).storageClientContext?.pipeline;
  if (typeof pipeline?.addPolicy !== 'function') {
    throw new Error('@azure/storage-blob no longer exposes its client pipeline: the Azure backend cannot watch its requests for stalls');
  }
  pipeline.addPolicy(policy, { afterPhase: 'Sign' });
}
