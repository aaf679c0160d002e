/** The Azure backend against Azurite: the storage contract, what the SDK's own client reads back, credentials and containers. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential, type BlobServiceClient } from '@azure/storage-blob';
import { backendConformance } from '../../testing/backend-conformance.js';
import { testServers } from '../../testing/test-servers.js';
import { azurite, azuriteService, freshContainer, type Azurite } from '../../testing/azurite.js';
import { parseLocation } from '../location.js';
import { isStoreError, ObjectNotFoundError, storeRefused } from '../store-error.js';
import { openAzureBackend, type AzureTuning } from './index.js';

const server: Azurite = azurite(testServers().azure);
const service: BlobServiceClient = azuriteService(server);
const containers: string[] = [];
const MiB = 1024 * 1024;

const keyEnv = (over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  AZURE_STORAGE_ACCOUNT: server.accountName,
  AZURE_STORAGE_KEY: server.accountKey,
  AZURE_STORAGE_ENDPOINT: server.endpoint,
  ...over,
});

async function container(): Promise<string> {
  const name = await freshContainer(service);
  containers.push(name);
  return name;
}

async function backendIn(name: string, env: NodeJS.ProcessEnv = { AZURE_STORAGE_CONNECTION_STRING: server.connectionString }, tuning?: AzureTuning) {
  return openAzureBackend(parseLocation(`azure:${name}:/repo`), env, tuning);
}

async function removeContainers(): Promise<void> {
  for (const c of containers.splice(0)) await service.deleteContainer(c).catch(() => undefined);
}

backendConformance('azure (Azurite)', {
  // a small listing page, so that 1100 objects take three pages
  make: async () => backendIn(await container(), undefined, { pageSize: 500 }),
  cleanup: removeContainers,
});

describe('Azure backend against Azurite', () => {
  after(removeContainers);

  it('a 16 MiB pack written in parts is byte-exact for the SDK itself, with its Content-MD5; one request per put, get and size', async (t) => {
    const name = await container();
    const b = await backendIn(name);
    const pack = randomBytes(16 * MiB);
    const w = b.openAtomic('data');
    for (let off = 0; off < pack.length; off += 100_000) w.write(pack.subarray(off, off + 100_000));
    let started = performance.now();
    await w.commit('data/7e/7e57');
    const putMs = performance.now() - started;

    const plain = service.getContainerClient(name).getBlobClient('repo/data/7e/7e57');
    assert.ok((await plain.downloadToBuffer()).equals(pack), 'the SDK reads the same bytes');
    const md5 = createHash('md5').update(pack).digest();
    assert.deepEqual(Buffer.from((await plain.getProperties()).contentMD5!), md5, 'the MD5 sent is the one stored');

    const into = { buffer: Buffer.alloc(20 * MiB) };
    const before = into.buffer;
    started = performance.now();
    const got = await b.get('data/7e/7e57', { into });
    const getMs = performance.now() - started;
    assert.ok(got.equals(pack));
    assert.equal(into.buffer, before, 'read into the reused buffer');
    assert.equal(got.buffer, before.buffer);
    assert.equal(await b.size('data/7e/7e57'), pack.length);
    // the listing carries the bytes' MD5 (a local copy of a record is recognised by it: metadata-cache.ts)
    assert.deepEqual(
      (await b.list('data')).map(({ name, size, md5 }) => ({ name, size, md5 })),
      [{ name: 'data/7e/7e57', size: pack.length, md5: createHash('md5').update(pack).digest('hex') }],
    );
    assert.deepEqual(b.requestCounts(), { put: 1, get: 1, size: 1, list: 1 });

    started = performance.now();
    createHash('md5').update(pack).digest();
    const md5Ms = performance.now() - started;
    t.diagnostic(
      `16 MiB to Azurite: put ${putMs.toFixed(0)} ms (${(16 / (putMs / 1000)).toFixed(0)} MB/s), get ${getMs.toFixed(0)} ms; its MD5 ${md5Ms.toFixed(1)} ms`,
    );
    await b.close();
  });

  it('lists by pages: one request per page of up to pageSize blobs, names relative to the prefix', async () => {
    const name = await container();
    const b = await backendIn(name, undefined, { pageSize: 10 });
    const names = Array.from({ length: 25 }, (_, i) => `index/i${String(i).padStart(3, '0')}`);
    await Promise.all(names.map((n) => b.put(n, Buffer.from(n))));
    // an object beside the repository's prefix is not the repository's
    await service.getContainerClient(name).getBlockBlobClient('repository-not/index/x').upload('x', 1);
    await service.getContainerClient(name).getBlockBlobClient('repo-x').upload('x', 1);
    assert.deepEqual(
      (await b.list('index')).map((o) => o.name),
      names,
    );
    assert.equal(b.requestCounts().list, 3);
    assert.deepEqual((await b.list('')).length, 25);
    await b.close();
  });

  it('bodies over the single-put limit go as staged blocks: nothing visible until the commit, uncommitted blocks never listed', async () => {
    const name = await container();
    const b = await backendIn(name, undefined, { singlePutLimit: MiB, blockSize: MiB });
    const big = randomBytes(3 * MiB + 12345);
    await b.put('data/5a/5a6e', [big.subarray(0, 1000), big.subarray(1000)]);
    assert.equal(b.requestCounts().put, 5, '4 blocks and the block list');
    assert.ok((await service.getContainerClient(name).getBlobClient('repo/data/5a/5a6e').downloadToBuffer()).equals(big));

    // a writer killed between its blocks: the blocks stay uncommitted, invisible
    const ac = new AbortController();
    const watch = setInterval(() => (b.requestCounts().put ?? 0) >= 7 && ac.abort(), 1);
    await assert.rejects(b.put('data/5a/5a6f', randomBytes(8 * MiB), { signal: ac.signal }));
    clearInterval(watch);
    const uncommitted = service.getContainerClient(name).getBlockBlobClient('repo/data/5a/5a6f');
    assert.ok((await uncommitted.getBlockList('uncommitted')).uncommittedBlocks!.length >= 1, 'blocks were staged');
    assert.deepEqual(
      (await b.list('data')).map(({ name, size, md5 }) => ({ name, size, md5 })),
      [{ name: 'data/5a/5a6e', size: big.length, md5: createHash('md5').update(big).digest('hex') }],
    );
    assert.equal(await b.exists('data/5a/5a6f'), false);
    assert.equal(await b.removeUnfinished('data'), 0);
    await b.put('data/5a/5a6f', big);
    assert.ok((await b.get('data/5a/5a6f')).equals(big), 'the name is written whole afterwards');
    await b.close();
  });

  it('a key or a SAS token from AZURE_STORAGE_ACCOUNT/KEY/SAS_TOKEN/ENDPOINT works; a read-only SAS cannot write (permanent)', async () => {
    const name = await container();
    const byKey = await backendIn(name, keyEnv());
    await byKey.put('config.json', Buffer.from('{}'));
    const sas = (permissions: string) =>
      generateBlobSASQueryParameters(
        { containerName: name, permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3600_000) },
        new StorageSharedKeyCredential(server.accountName, server.accountKey),
      ).toString();
    const bySas = await backendIn(name, {
      AZURE_STORAGE_ACCOUNT: server.accountName,
      AZURE_STORAGE_SAS_TOKEN: sas('racwdl'),
      AZURE_STORAGE_ENDPOINT: server.endpoint,
    });
    assert.deepEqual(await bySas.get('config.json'), Buffer.from('{}'));
    await bySas.put('keys/k.json', Buffer.from('k'));
    assert.deepEqual(
      (await bySas.list('')).map((o) => o.name),
      ['config.json', 'keys/k.json'],
    );
    const readOnly = await backendIn(name, {
      AZURE_STORAGE_ACCOUNT: server.accountName,
      AZURE_STORAGE_SAS_TOKEN: sas('rl'),
      AZURE_STORAGE_ENDPOINT: server.endpoint,
    });
    assert.equal((await readOnly.list('')).length, 2);
    await assert.rejects(readOnly.put('locks/l', Buffer.from('x')), (e: unknown) => {
      assert.ok(isStoreError(e, 'permanent'), String(e));
      assert.match(e.message, /403 .*check AZURE_STORAGE_ACCOUNT \(devstoreaccount1\) and AZURE_STORAGE_SAS_TOKEN: it must not have expired and must allow/);
      return true;
    });
    for (const b of [byKey, bySas, readOnly]) await b.close();
  });

  it('a wrong key: a permanent error that names the credential variables; the operator sees STORE_REFUSED', async () => {
    const name = await container();
    const b = await backendIn(name, keyEnv({ AZURE_STORAGE_KEY: randomBytes(64).toString('base64') }));
    for (const call of [() => b.put('config.json', Buffer.from('{}')), () => b.get('config.json'), () => b.list(''), () => b.exists('config.json')]) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(isStoreError(e, 'permanent'), String(e));
        assert.match(
          e.message,
          /Azure refused the credentials for the storage account devstoreaccount1 \(403 .*\): check AZURE_STORAGE_ACCOUNT \(devstoreaccount1\) and AZURE_STORAGE_KEY: it must be one of the account's access keys/,
        );
        assert.equal(e.store, `azure:${name}:/repo`);
        const shown = storeRefused(e);
        assert.equal(shown.code, 'STORE_REFUSED');
        assert.ok(!shown.message.includes(server.accountKey));
        return true;
      });
    }
    await b.close();
  });

  it('a container that does not exist: permanent, says to create it (not "object not found")', async () => {
    const b = await backendIn('prism-no-such-container');
    const calls = [
      () => b.put('config.json', Buffer.from('{}')),
      () => b.putIfAbsent('locks/l', Buffer.from('{}')),
      () => b.get('config.json'),
      () => b.getRange('config.json', 0, 1),
      () => b.size('config.json'),
      () => b.exists('config.json'),
      () => b.list(''),
      () => b.delete('config.json'),
    ];
    for (const call of calls) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(isStoreError(e, 'permanent'), String(e));
        assert.ok(!(e instanceof ObjectNotFoundError));
        assert.match(
          e.message,
          /the container prism-no-such-container does not exist in the storage account devstoreaccount1: create the container first \(az storage container create --name prism-no-such-container --account-name devstoreaccount1\)/,
        );
        return true;
      });
    }
    await b.close();
  });

  it('an empty range inside the object is empty, past its end an error; ranges in the middle of the object', async () => {
    const name = await container();
    const b = await backendIn(name);
    const data = randomBytes(1000);
    await b.put('data/01/0101', data);
    assert.equal((await b.getRange('data/01/0101', 1000, 0)).length, 0);
    await assert.rejects(b.getRange('data/01/0101', 1001, 0), /short read/);
    await assert.rejects(b.getRange('data/01/0101', 1000, 1), (e: unknown) => isStoreError(e, 'permanent'));
    await assert.rejects(
      b.getRange('data/01/0101', 0, 0).then(() => b.getRange('data/01/0102', 0, 0)),
      ObjectNotFoundError,
    );
    assert.ok((await b.getRange('data/01/0101', 999, 1)).equals(data.subarray(999)));
    await b.close();
  });
});
