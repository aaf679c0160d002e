import type { Backend, CallOptions, ObjectLock, ObjectVersion, Retaining, Wrapping } from './backend.js';
import { RetryingBackend } from './retrying-backend.js';

/**
 * The Retaining store under a backend (S3 with backup.object_lock), through any wrappers, or
 * undefined. Object names are the same at every layer (sealing changes bytes, not names); where a
 * RetryingBackend is on the way, the calls are retried as every other call is.
 */
export function retainingOf(backend: Backend): Retaining | undefined {
  let retrying: RetryingBackend | undefined;
  for (let b: Backend | undefined = backend; b; b = (b as Partial<Wrapping>).innerBackend) {
    if (b instanceof RetryingBackend) retrying ??= b;
    const r = b as Partial<Retaining> & { retaining?: boolean };
    if (typeof r.extendRetention === 'function' && r.retaining !== false && r.objectLock !== undefined) {
      const store = r as Retaining;
      return retrying ? retried(store, retrying) : store;
    }
  }
  return undefined;
}

function retried(store: Retaining, retrying: RetryingBackend): Retaining {
  return {
    get objectLock(): ObjectLock {
      return store.objectLock;
    },
    extendRetention: (name: string, until: Date, opts?: CallOptions) =>
      retrying.retried('extendRetention', name, opts?.signal, () => store.extendRetention(name, until, opts)),
    retentionOf: (name: string, opts?: CallOptions) => retrying.retried('retentionOf', name, opts?.signal, () => store.retentionOf(name, opts)),
    listVersions: (prefix: string, opts?: CallOptions): Promise<ObjectVersion[]> =>
      retrying.retried('listVersions', prefix, opts?.signal, () => store.listVersions(prefix, opts)),
    deleteVersion: (name: string, versionId: string, opts?: CallOptions) =>
      retrying.retried('deleteVersion', name, opts?.signal, () => store.deleteVersion(name, versionId, opts)),
  };
}
