import type { Backend, CallOptions, ReadOptions } from '../backend/backend.js';
import { ForwardingBackend } from '../backend/forwarding-backend.js';
import { PrismError } from '../errors/index.js';
import type { Crypt } from './crypt.js';
import { KEYRING_DIR, KEYS_DIR, REPO_CONFIG } from './layout.js';

/**
 * The backend of an encrypted repository as the rest of repo/ sees it: every object is sealed on
 * the way in and opened on the way out, with its name as the authenticated context (an object
 * copied under another name does not open). Left as they are: packs (`data/`: their frames and
 * trailer are sealed one by one by PackWriter, so that a frame can be read alone), the config
 * (it says that the repository is encrypted), key files (sealed under their passwords) and
 * keyrings (sealed with the key of their generation).
 */
export class SealedBackend extends ForwardingBackend {
  constructor(
    inner: Backend,
    private readonly crypt: Crypt,
  ) {
    super(inner);
  }

  override put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    if (passThrough(name)) return this.inner.put(name, data, opts);
    const plain = data instanceof Uint8Array ? data : Buffer.concat(data);
    return this.inner.put(name, this.crypt.seal(plain, name), opts);
  }

  override putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean> {
    return this.inner.putIfAbsent(name, passThrough(name) ? data : this.crypt.seal(data, name), opts);
  }

  override async get(name: string, opts?: ReadOptions): Promise<Buffer> {
    if (passThrough(name)) return this.inner.get(name, opts);
    const stored = await this.inner.get(name, {
      signal: opts?.signal,
      ...(opts?.fresh ? { fresh: true } : {}),
      ...(opts?.listed ? { listed: opts.listed } : {}),
    });
    try {
      return this.open(name, stored);
    } catch (e) {
      if (opts?.fresh) throw e;
      // a local copy of the object (metadata-cache.ts) may predate its sealing under a newer key: ask the store itself
      return this.open(name, await this.inner.get(name, { signal: opts?.signal, fresh: true }));
    }
  }

  override getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    if (!passThrough(name)) throw new Error(`${name} is sealed whole: it cannot be read in part`);
    return this.inner.getRange(name, offset, length, opts);
  }

  /**
   * Seals the object `name` again with the current key if an older one sealed it (atomically
   * replaced: killed half-way, the object is whole under one key or the other). True if it was.
   */
  async reseal(name: string): Promise<boolean> {
    if (passThrough(name)) return false;
    const stored = await this.inner.get(name);
    if (this.crypt.generationOf(stored) === this.crypt.generation) return false;
    await this.inner.put(name, this.crypt.seal(this.open(name, stored), name));
    return true;
  }

  private open(name: string, stored: Buffer): Buffer {
    try {
      return this.crypt.open(stored, name);
    } catch (e) {
      const why = `${name} cannot be decrypted: ${(e as Error).message}`;
      if (name.startsWith('index/')) throw new PrismError('INDEX_DAMAGED', `Index file ${why}.`, { object: name });
      throw new PrismError('REPO_CORRUPT', `${this.inner.location}/${why}.`, { object: name });
    }
  }
}

function passThrough(name: string): boolean {
  return name.startsWith('data/') || name === REPO_CONFIG || name.startsWith(`${KEYS_DIR}/`) || name.startsWith(`${KEYRING_DIR}/`);
}
