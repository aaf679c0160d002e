import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPrismError } from '../errors/index.js';
import { displayLocation, isRemoteLocation, parseLocation } from './location.js';

describe('parseLocation', () => {
  it('local paths stay as written', () => {
    for (const p of ['/srv/backups', '~/.prism-gateway-backups', 'relative/dir', './s3:odd']) assert.deepEqual(parseLocation(p), { kind: 'local', path: p });
    assert.equal(isRemoteLocation('/srv/s3:x'), false);
  });

  it('S3: endpoint URL, bare host, AWS itself; prefixes cleaned', () => {
    assert.deepEqual(parseLocation('s3:http://127.0.0.1:7480/prism-repo/hosts/gw1/'), {
      kind: 's3',
      endpoint: 'http://127.0.0.1:7480',
      bucket: 'prism-repo',
      prefix: 'hosts/gw1',
    });
    assert.deepEqual(parseLocation('s3:s3.eu-west-1.amazonaws.com/bucket-1'), {
      kind: 's3',
      endpoint: 'https://s3.eu-west-1.amazonaws.com',
      bucket: 'bucket-1',
      prefix: '',
    });
    assert.deepEqual(parseLocation('s3://my.bucket/a//b'), { kind: 's3', endpoint: undefined, bucket: 'my.bucket', prefix: 'a/b' });
  });

  it('Azure: container and prefix, with or without the account', () => {
    assert.deepEqual(parseLocation('azure:backups:/gw1'), { kind: 'azure', account: undefined, container: 'backups', prefix: 'gw1' });
    assert.deepEqual(parseLocation('azure:backups:'), { kind: 'azure', account: undefined, container: 'backups', prefix: '' });
    assert.deepEqual(parseLocation('azure://acct/backups/x/y'), { kind: 'azure', account: 'acct', container: 'backups', prefix: 'x/y' });
  });

  it('SFTP: restic spelling and URLs, absolute and home-relative paths', () => {
    assert.deepEqual(parseLocation('sftp:backup@host.example:/srv/repo/'), { kind: 'sftp', user: 'backup', host: 'host.example', port: 22, path: '/srv/repo' });
    assert.deepEqual(parseLocation('sftp:host:repo'), { kind: 'sftp', user: undefined, host: 'host', port: 22, path: 'repo' });
    assert.deepEqual(parseLocation('sftp://u@127.0.0.1:2222/srv/repo'), { kind: 'sftp', user: 'u', host: '127.0.0.1', port: 2222, path: '/srv/repo' });
    assert.deepEqual(parseLocation('sftp://u@[::1]:2222/~/repo'), { kind: 'sftp', user: 'u', host: '::1', port: 2222, path: 'repo' });
  });

  it('shows a location the same way it parses it back', () => {
    for (const l of [
      's3:http://127.0.0.1:7480/b-1/p/q',
      's3://b-1/p',
      'azure:backups:/gw1',
      'azure://acct/backups/x',
      'sftp://u@127.0.0.1:2222/srv/repo',
      'sftp://u@[::1]:22/~/repo',
    ]) {
      const parsed = parseLocation(l);
      assert.deepEqual(parseLocation(displayLocation(parsed)), parsed, l);
    }
  });

  it('refuses what it cannot use, with STORE_LOCATION and what to write instead', () => {
    for (const bad of [
      's3:http://key:secret@127.0.0.1/b',
      's3:http://127.0.0.1:7480/',
      's3:http://127.0.0.1/Bad_Bucket',
      's3:http://127.0.0.1/b-1/../x',
      'azure:UPPER:/x',
      'azure:ab:/x',
      'sftp:justahost',
      'sftp://u:pw@h/x',
      'sftp:h:/a/../b',
      'gs:bucket/x',
    ]) {
      assert.throws(
        () => parseLocation(bad),
        (e: unknown) => isPrismError(e) && e.code === 'STORE_LOCATION' && e.message.includes(bad.slice(0, 5)),
        bad,
      );
    }
  });
});
