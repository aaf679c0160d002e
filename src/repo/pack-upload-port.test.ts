import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { describe, it } from 'node:test';
import type { Backend } from '../backend/backend.js';
import { ForwardingBackend } from '../backend/forwarding-backend.js';
import { MemoryBackend } from '../backend/memory-backend.js';
import { StoreError, isStoreError } from '../backend/store-error.js';
import { PrismError, isPrismError } from '../errors/index.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { prngBytes } from '../testing/fixtures.js';
import { PackUploadBackend, servePackUploads } from './pack-upload-port.js';

function connected(store: Backend): { uploads: PackUploadBackend; close: () => void } {
  const { port1, port2 } = new MessageChannel();
  servePackUploads(store, port1);
  return {
    uploads: new PackUploadBackend(port2, 's3:http://127.0.0.1:1/b'),
    close: () => {
      port1.close();
      port2.close();
    },
  };
}

describe('pack uploads through another thread', () => {
  it('a pack written in parts (small ones pooled, large ones moved) arrives byte for byte, once the store has it', async () => {
    const mem = new MemoryBackend();
    const { uploads, close } = connected(mem);
    try {
      const big = prngBytes(300_000, 7);
      const small = Buffer.from('PRISMPK1'); // pooled memory: copied, never moved
      const w = uploads.openAtomic('data');
      w.write(small);
      w.write(big);
      w.write(Buffer.from('trailer'));
      await w.commit('data/ab/abcd');
      assert.deepEqual(await mem.get('data/ab/abcd'), Buffer.concat([small, big, Buffer.from('trailer')]));
      assert.equal(small.toString(), 'PRISMPK1', 'the pooled buffer is still usable');
      assert.equal(await uploads.removeUnfinished(), 0);
      await assert.rejects(uploads.get('data/ab/abcd'), /another thread/);
    } finally {
      close();
    }
  });

  it("the store's failure arrives as the same kind of error: a StoreError keeps its kind and refusal, a PrismError its code", async () => {
    const refusing = new FaultyBackend(new MemoryBackend(), [{ op: 'put', name: /one/, fault: { kind: 'permanent' } }]);
    class Full extends ForwardingBackend {
      override async put(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
        if (name.includes('one')) return this.inner.put(name, data);
        if (name.includes('two')) throw new PrismError('DISK_SPACE_INSUFFICIENT', 'the disk is full', { path: '/x' });
        if (name.includes('three')) throw new StoreError('permanent', 's3:x', 'denied', { denied: true, objectName: name });
      }
    }
    const { uploads, close } = connected(new Full(refusing));
    try {
      await assert.rejects(uploads.put('data/00/one', Buffer.from('x')), (e) => isStoreError(e, 'permanent'));
      await assert.rejects(
        uploads.put('data/00/two', Buffer.from('x')),
        (e) => isPrismError(e) && e.code === 'DISK_SPACE_INSUFFICIENT' && e.details.path === '/x',
      );
      await assert.rejects(uploads.put('data/00/three', Buffer.from('x')), (e) => isStoreError(e) && e.denied && e.objectName === 'data/00/three');
    } finally {
      close();
    }
  });
});
