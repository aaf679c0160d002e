/**
 * Credentials that can add and read but not delete, as a host that ransomware may own would have
 * them: an S3 user whose bucket policy grants no delete (Ceph RGW), an Azure SAS without d
 * (Azurite). Backups and verify work with them; prune, cleanup and delete fail with a clear error
 * and change nothing that matters; the operator's credentials then find everything in order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobServiceClient, ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { Manifest } from '../repo/index.js';
import { json, prism, prngBytes, sandbox, writeDataset, type CliResult, type Sandbox } from '../testing/fixtures.js';
import { appendOnlyS3Server, s3Env, s3Server, TestBuckets } from '../testing/s3-server.js';
import { testServers, uniqueName } from '../testing/test-servers.js';

const MiB = 1024 * 1024;

interface Store {
  /** The objects' names and sizes, as the operator sees them. */
  objects(): Promise<Map<string, number>>;
}

/** The same steps on each store: the host's credentials in `host`, the operator's in `operator`. */
function appendOnlySteps(
  label: string,
  setup: () => Promise<{ host: Record<string, string>; operator: Record<string, string>; store: Store; deniedWords: RegExp; cleanup(): Promise<void> }>,
) {
  describe(`append-only credentials: ${label} (CLI)`, () => {
    let sb: Sandbox;
    let cacheDir: string;
    let host: Record<string, string>;
    let operator: Record<string, string>;
    let store: Store;
    let denied: RegExp;
    let cleanup: (() => Promise<void>) | undefined;
    let full: Manifest;
    let inc: Manifest;
    const run = (who: Record<string, string>, args: string[]): CliResult => prism(args, who);
    const ok = (who: Record<string, string>, args: string[]): CliResult => {
      const r = run(who, args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      return r;
    };
    const data = async (): Promise<Map<string, number>> => new Map([...(await store.objects())].filter(([k]) => !k.startsWith('locks/')));

    before(async () => {
      sb = sandbox();
      cacheDir = mkdtempSync(join(tmpdir(), 'prism-cache-'));
      const s = await setup();
      const common = { ...sb.env, PRISM_CACHE_DIR: cacheDir, PRISM_BACKUP_CONCURRENCY: '2', PRISM_STORE_RETRY_SECONDS: '20' };
      host = { ...common, ...s.host };
      operator = { ...common, ...s.operator };
      store = s.store;
      denied = s.deniedWords;
      cleanup = s.cleanup;
      writeDataset(sb.home, { files: 8 });
      writeFileSync(join(sb.home, 'level-1-hot', 'big.bin'), prngBytes(9 * MiB, 11));
    });
    after(async () => {
      await cleanup?.();
      rmSync(cacheDir, { recursive: true, force: true });
      sb?.cleanup();
    });

    it('the host backs up (creating the repository), again incrementally, and verifies', () => {
      full = json<Manifest>(ok(host, ['backup', 'create', '--type', 'full', '--json']));
      writeFileSync(join(sb.home, 'level-2-warm', 'later.json'), JSON.stringify({ later: true }));
      inc = json<Manifest>(ok(host, ['backup', 'create', '--type', 'incremental', '--json']));
      assert.deepEqual([full.status, inc.status, inc.parent], ['completed', 'completed', full.id]);
      ok(host, ['backup', 'verify', '--all']);
      const target = join(sb.root, 'restored');
      ok(host, ['backup', 'restore', inc.id, '--target', target]);
    });

    it('prune, cleanup and delete with the host’s credentials fail, saying so, and remove nothing', async () => {
      const before = await data();
      for (const args of [
        ['backup', 'prune'],
        ['backup', 'cleanup'],
        ['backup', 'delete', full.id, '--confirm', '--force'],
      ]) {
        const r = run(host, args);
        assert.equal(r.code, 52, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /ERR_PRISM_STORE_REFUSED/);
        assert.match(r.stderr, denied, r.stderr);
      }
      const after = await data();
      for (const [name, size] of before) assert.equal(after.get(name), size, `${name} is still there`);
      // what may have been added is a prune's new index, written before its first delete: as after a kill
      assert.deepEqual(
        [...after.keys()].filter((k) => !before.has(k) && !k.startsWith('index/')),
        [],
      );
      assert.deepEqual(
        json<Manifest[]>(ok(host, ['backup', 'list', '--json'])).map((m) => m.id),
        [inc.id, full.id],
      );
      ok(host, ['backup', 'verify', '--all']);
      ok(host, ['backup', 'create', '--type', 'incremental']);
    });

    it('the operator’s credentials find the repository whole, and prune it', () => {
      ok(operator, ['backup', 'verify', '--all']);
      assert.equal(json<Manifest[]>(ok(operator, ['backup', 'list', '--json'])).length, 3);
      ok(operator, ['backup', 'prune']);
      ok(operator, ['backup', 'verify', '--all']);
      ok(host, ['backup', 'create', '--type', 'incremental']);
    });
  });
}

appendOnlySteps('an S3 user whose bucket policy grants no delete (Ceph RGW)', async () => {
  const server = s3Server();
  const appendOnly = appendOnlyS3Server();
  const buckets = new TestBuckets(server);
  const bucket = await buckets.create();
  await buckets.allowAppendOnly(bucket, appendOnly.user, 'repo');
  const location = `s3:${server.endpoint}/${bucket}/repo`;
  return {
    host: { ...(s3Env(appendOnly) as Record<string, string>), PRISM_BACKUP_PATH: location },
    operator: { ...(s3Env(server) as Record<string, string>), PRISM_BACKUP_PATH: location },
    store: {
      objects: async () => {
        const objects = await buckets.keys(bucket);
        assert.deepEqual(
          objects.filter((o) => o.key.startsWith('repo/locks/')),
          [],
          'the policy lets the host remove its locks: none is left',
        );
        return new Map(objects.map((o) => [o.key.slice('repo/'.length), o.size]));
      },
    },
    deniedWords: /may not delete objects in the bucket .*append-only credentials serve backups and verify.*s3:DeleteObject/s,
    cleanup: () => buckets.cleanup(),
  };
});

appendOnlySteps('an Azure SAS without delete (Azurite)', async () => {
  const azure = testServers().azure;
  const container = uniqueName('append-only');
  const service = BlobServiceClient.fromConnectionString(azure.connectionString);
  const client = service.getContainerClient(container);
  await client.create();
  const sas = generateBlobSASQueryParameters(
    { containerName: container, permissions: ContainerSASPermissions.parse('racwl'), expiresOn: new Date(Date.now() + 3600_000) },
    new StorageSharedKeyCredential(azure.accountName, azure.accountKey),
  ).toString();
  const location = `azure:${container}:/repo`;
  return {
    host: { AZURE_STORAGE_ACCOUNT: azure.accountName, AZURE_STORAGE_SAS_TOKEN: sas, AZURE_STORAGE_ENDPOINT: azure.endpoint, PRISM_BACKUP_PATH: location },
    operator: { AZURE_STORAGE_CONNECTION_STRING: azure.connectionString, PRISM_BACKUP_PATH: location },
    store: {
      objects: async () => {
        const out = new Map<string, number>();
        for await (const b of client.listBlobsFlat({ prefix: 'repo/' })) out.set(b.name.slice('repo/'.length), b.properties.contentLength ?? 0);
        // the host cannot remove its locks: it releases them by emptying them
        for (const [name, size] of out) if (name.startsWith('locks/')) assert.equal(size, 0, `${name} is released`);
        return out;
      },
    },
    deniedWords: /may not delete blobs in the container .*a SAS without d serves backups and verify/s,
    cleanup: async () => {
      await client.delete();
    },
  };
});

describe('append-only credentials on a bucket with Object Lock (Ceph RGW, CLI)', () => {
  const server = s3Server();
  const appendOnly = appendOnlyS3Server();
  const buckets = new TestBuckets(server);
  let sb: Sandbox;
  let bucket: string;
  let host: Record<string, string>;
  let operator: Record<string, string>;

  before(async () => {
    sb = sandbox();
    bucket = await buckets.create({ objectLock: true });
    await buckets.allowAppendOnly(bucket, appendOnly.user, 'repo');
    writeDataset(sb.home, { files: 6 });
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { object_lock: { mode: 'governance', days: 600 / 86400 } } }));
    const common = {
      ...sb.env,
      PRISM_BACKUP_PATH: `s3:${server.endpoint}/${bucket}/repo`,
      PRISM_CACHE_DIR: join(sb.root, 'cache'),
      PRISM_STORE_RETRY_SECONDS: '20',
    };
    host = { ...common, ...(s3Env(appendOnly) as Record<string, string>) };
    operator = { ...common, ...(s3Env(server) as Record<string, string>) };
  });
  after(async () => {
    await buckets.cleanup();
    sb?.cleanup();
  });

  it('the host backs up under retention and verifies; its prune and delete are refused and remove nothing', async () => {
    const full = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--json'], host));
    assert.equal(full.status, 'completed');
    assert.equal(prism(['backup', 'verify', '--all'], host).code, 0);
    const keys = (await buckets.keys(bucket)).map((k) => k.key).filter((k) => !k.startsWith('repo/locks/'));
    const prune = prism(['backup', 'prune'], host);
    assert.equal(prune.code, 52, prune.stderr);
    assert.match(prune.stderr, /denied writing state\/retention\.json .*run it with the operator’s credentials/s);
    const del = prism(['backup', 'delete', full.id, '--confirm', '--force'], host);
    assert.equal(del.code, 54, del.stderr);
    assert.deepEqual(
      (await buckets.keys(bucket)).map((k) => k.key).filter((k) => !k.startsWith('repo/locks/')),
      keys,
    );
    assert.deepEqual(
      (await buckets.keys(bucket)).filter((k) => k.key.startsWith('repo/locks/')),
      [],
    );
    assert.equal(prism(['backup', 'verify', '--all'], operator).code, 0);
    assert.equal(prism(['backup', 'prune'], operator).code, 0);
  });
});
