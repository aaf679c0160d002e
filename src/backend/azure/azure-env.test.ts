import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLocation } from '../location.js';
import { isStoreError } from '../store-error.js';
import { azureAccess } from './azure-env.js';
import { stallMilliseconds } from '../stall-setting.js';
import { openAzureBackend } from './index.js';

const loc = (s: string) => {
  const l = parseLocation(s);
  assert.equal(l.kind, 'azure');
  return l as Extract<typeof l, { kind: 'azure' }>;
};
const KEY = Buffer.alloc(64, 1).toString('base64');

describe('Azure credentials from the environment', () => {
  it('a connection string with a key and a BlobEndpoint (Azurite, sovereign clouds)', () => {
    const a = azureAccess(
      loc('azure:backups:/repo'),
      {
        AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:10100/devstoreaccount1/;`,
      },
      'x',
    );
    assert.deepEqual(a, {
      account: 'devstoreaccount1',
      endpoint: 'http://127.0.0.1:10100/devstoreaccount1',
      credential: { kind: 'key', key: KEY },
      from: 'AZURE_STORAGE_CONNECTION_STRING',
    });
  });

  it('a connection string without a BlobEndpoint: the public cloud, or its EndpointSuffix', () => {
    const env = { AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.chinacloudapi.cn` };
    assert.equal(azureAccess(loc('azure:c0ntainer:/'), env, 'x').endpoint, 'https://acct.blob.core.chinacloudapi.cn');
    const plain = { AZURE_STORAGE_CONNECTION_STRING: `AccountName=acct;AccountKey=${KEY}` };
    assert.equal(azureAccess(loc('azure:c0ntainer:/'), plain, 'x').endpoint, 'https://acct.blob.core.windows.net');
  });

  it('a connection string with a SAS and only a BlobEndpoint names the account through the endpoint', () => {
    const env = { AZURE_STORAGE_CONNECTION_STRING: 'BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=?sv=2024&sig=abc%3D' };
    assert.deepEqual(azureAccess(loc('azure:backups:/'), env, 'x'), {
      account: 'acct',
      endpoint: 'https://acct.blob.core.windows.net',
      credential: { kind: 'sas', sas: 'sv=2024&sig=abc%3D' },
      from: 'AZURE_STORAGE_CONNECTION_STRING',
    });
  });

  it('UseDevelopmentStorage=true is Azurite on its default port', () => {
    const a = azureAccess(loc('azure:backups:/'), { AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' }, 'x');
    assert.equal(a.account, 'devstoreaccount1');
    assert.equal(a.endpoint, 'http://127.0.0.1:10000/devstoreaccount1');
  });

  it('an account with a key or a SAS token, and AZURE_STORAGE_ENDPOINT', () => {
    const key = azureAccess(loc('azure:backups:/'), { AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_KEY: KEY }, 'x');
    assert.deepEqual(key, {
      account: 'acct',
      endpoint: 'https://acct.blob.core.windows.net',
      credential: { kind: 'key', key: KEY },
      from: 'AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY',
    });
    const sas = azureAccess(
      loc('azure:backups:/'),
      { AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_SAS_TOKEN: '?sv=1&sig=x', AZURE_STORAGE_ENDPOINT: 'http://127.0.0.1:10100/acct/' },
      'x',
    );
    assert.deepEqual(sas, {
      account: 'acct',
      endpoint: 'http://127.0.0.1:10100/acct',
      credential: { kind: 'sas', sas: 'sv=1&sig=x' },
      from: 'AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_SAS_TOKEN',
    });
  });

  it('the account of azure://account/… with AZURE_STORAGE_KEY alone', () => {
    assert.equal(azureAccess(loc('azure://acct/backups/repo'), { AZURE_STORAGE_KEY: KEY }, 'x').account, 'acct');
  });

  it('missing credentials: every call fails with a permanent error naming the variables to set (opening does not throw)', async () => {
    for (const env of [{}, { AZURE_STORAGE_ACCOUNT: 'acct' }, { AZURE_STORAGE_KEY: KEY }]) {
      const b = openAzureBackend(loc('azure:backups:/repo'), env);
      assert.equal(b.location, 'azure:backups:/repo');
      const w = b.openAtomic('data');
      w.write(Buffer.from('x'));
      for (const call of [() => b.list(''), () => b.put('config.json', Buffer.from('{}')), () => w.commit('data/00/0001')]) {
        await assert.rejects(call(), (e: unknown) => {
          assert.ok(isStoreError(e, 'permanent'), String(e));
          assert.match(e.message, /AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN/);
          assert.equal(e.store, 'azure:backups:/repo');
          return true;
        });
      }
    }
    assert.throws(
      () => azureAccess(loc('azure:backups:/'), { AZURE_STORAGE_CONNECTION_STRING: 'AccountName=acct' }, 'x'),
      /neither AccountKey= nor SharedAccessSignature=/,
    );
  });

  it('an account in the location that the credentials are not for: a permanent error', async () => {
    await assert.rejects(
      openAzureBackend(loc('azure://other/backups/repo'), { AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_KEY: KEY }).get('config.json'),
      (e: unknown) => {
        assert.ok(isStoreError(e, 'permanent'), String(e));
        assert.match(e.message, /names the storage account other, but the credentials \(AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY\) are for acct/);
        return true;
      },
    );
    assert.throws(
      () => azureAccess(loc('azure://other/backups/repo'), { AZURE_STORAGE_CONNECTION_STRING: `AccountName=acct;AccountKey=${KEY}` }, 'x'),
      /are for acct/,
    );
  });

  it('a bad endpoint is refused, and credentials never appear in the message', () => {
    assert.throws(
      () => azureAccess(loc('azure:backups:/'), { AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_KEY: KEY, AZURE_STORAGE_ENDPOINT: 'ftp://host' }, 'x'),
      /plain http\(s\) URL/,
    );
    assert.throws(
      () =>
        azureAccess(
          loc('azure:backups:/'),
          { AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_KEY: KEY, AZURE_STORAGE_ENDPOINT: 'https://acct.blob.core.windows.net/?sig=secret' },
          'x',
        ),
      (e: unknown) => e instanceof Error && !e.message.includes('secret') && /without credentials or a query/.test(e.message),
    );
  });

  it('PRISM_STORE_STALL_SECONDS: 60 s by default, fractions allowed, nonsense refused', () => {
    assert.equal(stallMilliseconds({}), 60_000);
    assert.equal(stallMilliseconds({ PRISM_STORE_STALL_SECONDS: '0.5' }), 500);
    for (const bad of ['0', '-1', 'soon']) assert.throws(() => stallMilliseconds({ PRISM_STORE_STALL_SECONDS: bad }), /greater than 0/);
  });

  it('opening does no network I/O: an unreachable endpoint is only met by the first call', () => {
    const b = openAzureBackend(loc('azure:backups:/repo'), {
      AZURE_STORAGE_ACCOUNT: 'acct',
      AZURE_STORAGE_KEY: KEY,
      AZURE_STORAGE_ENDPOINT: 'http://127.0.0.1:9/acct',
    });
    assert.equal(b.location, 'azure:backups:/repo');
    assert.deepEqual(b.requestCounts(), {});
  });
});
